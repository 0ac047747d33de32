"""Pronunciation scoring: how well each sound of a target sentence was said.

The target sentence becomes the phonemes it should be spoken with (espeak-ng,
in the accent the learner chose). A phoneme model turns the recording into
per-frame phoneme probabilities. Each target phoneme is then judged by CTC:
the likelihood of the whole expected sequence is compared with that of the
same sequence with this one phoneme replaced by each plausible other phoneme
(not the allophones that may stand for it, `ALLOWED`), or left out. A sound's
score is the probability of the expected sequence against the likeliest of
those rivals (the sigmoid of their log-likelihood ratio), so it is 100 when the
expected sound fits the audio far better than any other, 50 when its best
rival fits as well, and near 0 when the rival fits far better: that rival is
then the sound heard instead.
Scoring the whole sequence, not the frames of one phoneme, suits CTC models,
whose outputs are spikes with blanks between them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
import torchaudio.functional as AF

from .decode import best_path, decode_words
from .errors import AudioError, ModelError
from .phonemes import DEFAULT_ACCENT, target_words
from .recognizer import Recognizer

GOOD = 10.0  # a sound scored below this (its strongest rival 9 times as likely) is marked wrong
MISSING = "-"  # what a learner "said" instead of a sound they left out
CANDIDATES = 12  # other phonemes tried in place of each target phoneme (the likeliest near it)
NEIGHBOURHOOD = 0.15  # seconds either side of a phoneme where its rivals are looked for
# Sounds that may stand for the expected one without a mistake: reduced vowels for one another,
# the flap and glottal stop of American and British "t", a syllabic consonant with or without its
# schwa, the final vowel of "happy". They are not counted as rivals.
ALLOWED = {"ə": {"ɐ", "ᵻ"}, "ɐ": {"ə"}, "ᵻ": {"ɪ", "ə"}, "ɚ": {"ə"}, "i": {"iː", "ɪ"}, "iː": {"i"},
           "t": {"ɾ", "ʔ"}, "d": {"ɾ"}, "ɾ": {"t", "d"}, "ʔ": {"t"}, "əl": {"l"}, "l": {"əl"}, "n̩": {"n"}}


@dataclass
class SoundScore:
    """One phoneme of the target: its score out of 100, and what was heard instead when it is wrong."""

    phoneme: str
    score: float
    start: float
    end: float
    heard: str = ""

    @property
    def good(self) -> bool:
        return self.score >= GOOD

    def to_dict(self) -> dict:
        return {"phoneme": self.phoneme, "score": round(self.score, 1), "good": self.good,
                "heard": self.heard, "start": round(self.start, 3), "end": round(self.end, 3)}


@dataclass
class WordScore:
    """A written word of the target, the mean score of its sounds, and each sound."""

    text: str
    sounds: list[SoundScore]
    unscored: tuple[str, ...] = ()  # phonemes the model cannot write

    @property
    def score(self) -> float:
        return float(np.mean([s.score for s in self.sounds])) if self.sounds else 0.0

    @property
    def good(self) -> bool:
        return bool(self.sounds) and all(s.good for s in self.sounds)

    @property
    def start(self) -> float:
        return self.sounds[0].start if self.sounds else 0.0

    @property
    def end(self) -> float:
        return self.sounds[-1].end if self.sounds else 0.0

    def to_dict(self) -> dict:
        return {"word": self.text, "score": round(self.score, 1), "good": self.good,
                "start": round(self.start, 3), "end": round(self.end, 3),
                "sounds": [s.to_dict() for s in self.sounds], "unscored": list(self.unscored)}


@dataclass
class Assessment:
    """The verdict on one recording of a target sentence."""

    text: str
    accent: str
    model: str
    words: list[WordScore]
    heard: str  # the phonemes the model hears with no target in mind, words run together
    duration: float
    file: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        sounds = [s.score for w in self.words for s in w.sounds]
        return float(np.mean(sounds)) if sounds else 0.0

    def to_dict(self) -> dict:
        return {"file": self.file, "text": self.text, "accent": self.accent, "model": self.model,
                "duration": round(self.duration, 3), "score": round(self.score, 1), "heard": self.heard,
                "words": [w.to_dict() for w in self.words]}


class PronunciationScorer:
    """Scores recordings against target sentences with a phoneme model."""

    def __init__(self, recognizer: Recognizer, accent: str = DEFAULT_ACCENT):
        vocabulary = recognizer.vocabulary
        if recognizer.config.kind != "phoneme" or vocabulary is None or not vocabulary.phonemes:
            raise ModelError(f"{recognizer.config.name or 'the model'}: it writes {recognizer.config.kind} output, "
                             "not phonemes; pronunciation needs a phoneme model (`vivavoce models list` shows "
                             "each model's kind)")
        self.recognizer = recognizer
        self.vocabulary = vocabulary
        self.accent = accent
        self.index = {token: i for i, token in enumerate(vocabulary.tokens)}
        self.delimiter = (self.index[vocabulary.delimiter]
                          if vocabulary.delimiter in self.index else None)
        self.rivals = np.array([i for i, token in enumerate(vocabulary.tokens)
                                if not vocabulary.is_silent(i) and i != self.delimiter])
        self.allowed = {self.index[p]: {self.index[q] for q in qs if q in self.index}
                        for p, qs in ALLOWED.items() if p in self.index}

    def _tokens(self, phoneme: str) -> list[int] | None:
        """The model's tokens for one target phoneme: itself, or its characters (``oʊ`` as ``o ʊ``)."""
        if phoneme in self.index:
            return [self.index[phoneme]]
        parts = [self.index.get(c) for c in phoneme]
        return None if None in parts else parts

    def assess(self, samples: np.ndarray, text: str, file: str = "") -> Assessment:
        """Score 16 kHz mono ``samples`` as a reading of ``text``."""
        duration = len(samples) / 16000
        if not len(samples) or float(np.abs(samples).max()) < 1e-4:
            raise AudioError(f"{file or 'the recording'}: silent; there is no speech to score")
        words = target_words(text, self.accent)
        targets: list[int] = []  # token ids, the word breaks between words included
        owners: list[tuple[int, str] | None] = []  # for each target token: (word, phoneme), or None for a break
        unscored: list[list[str]] = [[] for _ in words]
        for w, word in enumerate(words):
            if targets and self.delimiter is not None:
                targets.append(self.delimiter)
                owners.append(None)
            for phoneme in word.phonemes:
                tokens = self._tokens(phoneme)
                if tokens is None:
                    unscored[w].append(phoneme)
                    continue
                targets += tokens
                owners += [(w, phoneme)] + [(w, "")] * (len(tokens) - 1)
        if not targets:
            raise ModelError(f"{self.recognizer.config.name}: it knows none of the sounds of {text!r}")
        log_probs = torch.from_numpy(self.recognizer.log_probs(samples.astype(np.float32)))
        frames = log_probs.shape[0]
        needed = len(targets) + sum(a == b for a, b in zip(targets, targets[1:]))  # repeats need a blank
        if frames < needed:
            raise AudioError(f"{file or 'the recording'}: {duration:.1f} s is too short for {text!r}")
        seconds = self.recognizer.frame_seconds
        spans = _spans(log_probs, targets, self.vocabulary.blank)
        scores, heard = self._judge(log_probs, targets, spans, [o is not None and o[1] != "" for o in owners])
        results = [WordScore(word.text, [], tuple(unscored[w])) for w, word in enumerate(words)]
        for k, owner in enumerate(owners):
            if owner is None:
                continue
            w, phoneme = owner
            if phoneme:
                results[w].sounds.append(SoundScore(phoneme, scores[k], spans[k][0] * seconds,
                                                    (spans[k][1] + 1) * seconds, heard[k]))
            else:  # a later character of a phoneme spelled in characters: the sound's span grows
                sound = results[w].sounds[-1]
                sound.end = (spans[k][1] + 1) * seconds
        warnings = [f"{w.text}: the model has no phoneme for {' '.join(w.unscored)}; not scored"
                    for w in results if w.unscored]
        return Assessment(text, self.accent, self.recognizer.config.name, results, self._free(log_probs),
                          duration, file, warnings)

    def _free(self, log_probs: torch.Tensor) -> str:
        """The phonemes the model hears with no target in mind, each word's run together: ``həloʊ wɜːld``."""
        words = decode_words(*best_path(log_probs.numpy()), self.vocabulary, self.recognizer.config.text,
                             self.recognizer.frame_seconds)
        return " ".join(word.text for word in words)

    def _judge(self, log_probs: torch.Tensor, targets: list[int], spans: list[tuple[int, int]],
               judged: list[bool]) -> tuple[list[float], list[str]]:
        """Each judged target token's score against its strongest rival, and that rival when it wins."""
        frames = log_probs.shape[0]
        reach = max(1, round(NEIGHBOURHOOD / self.recognizer.frame_seconds))
        variants: list[list[int]] = [targets]
        labels: list[tuple[int, int]] = []  # (target position, rival token or -1 for left out)
        for k, (start, end) in enumerate(spans):
            if not judged[k]:
                continue
            near = log_probs[max(0, start - reach):min(frames, end + reach + 1)].max(0).values
            ranked = self.rivals[np.argsort(-near[self.rivals].numpy(), kind="stable")]
            allowed = self.allowed.get(targets[k], set())
            for rival in [int(r) for r in ranked if r != targets[k] and r not in allowed][:CANDIDATES]:
                variants.append(targets[:k] + [rival] + targets[k + 1:])
                labels.append((k, rival))
            if len(targets) > 1:
                variants.append(targets[:k] + targets[k + 1:])
                labels.append((k, -1))
        likelihood = -_ctc_nll(log_probs, variants, self.vocabulary.blank)
        expected = likelihood[0]
        rivals: dict[int, list[tuple[float, int]]] = {}
        for (k, rival), value in zip(labels, likelihood[1:].tolist()):
            rivals.setdefault(k, []).append((value, rival))
        scores, heard = [0.0] * len(targets), [""] * len(targets)
        for k, options in rivals.items():
            best_value, best = max(options)
            scores[k] = 100 * float(torch.sigmoid(expected - best_value))
            if scores[k] < GOOD:
                heard[k] = MISSING if best < 0 else self.vocabulary.tokens[best]
        return scores, heard


def _spans(log_probs: torch.Tensor, targets: list[int], blank: int) -> list[tuple[int, int]]:
    """The first and last frame of each target token in the most likely CTC alignment."""
    with warnings.catch_warnings():  # torchaudio 2.9 marks it deprecated; it is there, and pinned
        warnings.simplefilter("ignore", UserWarning)
        path, scores = AF.forced_align(log_probs[None], torch.tensor([targets], dtype=torch.int32), blank=blank)
    return [(span.start, span.end - 1) for span in AF.merge_tokens(path[0], scores[0].exp(), blank=blank)]


def _ctc_nll(log_probs: torch.Tensor, sequences: list[list[int]], blank: int, batch: int = 256) -> torch.Tensor:
    """The CTC negative log-likelihood of each token sequence under one utterance's ``log_probs``."""
    frames = log_probs.shape[0]
    out = []
    for first in range(0, len(sequences), batch):
        chunk = sequences[first:first + batch]
        n = len(chunk)
        targets = torch.tensor([t for seq in chunk for t in seq], dtype=torch.long)
        out.append(F.ctc_loss(log_probs[:, None].expand(frames, n, -1), targets,
                              torch.full((n,), frames, dtype=torch.long),
                              torch.tensor([len(seq) for seq in chunk], dtype=torch.long),
                              blank=blank, reduction="none", zero_infinity=False))
    return torch.cat(out)


def render_table(result: Assessment) -> str:
    """The verdict as a terminal reads it: one line per word, each sound with its score, the wrong marked."""
    width = max([len(w.text) for w in result.words] + [4])
    lines = [f"Score: {result.score:.0f}/100 ({len(result.words)} words, accent {result.accent}, "
             f"model {result.model})",
             f"Heard: {result.heard or '(nothing)'}", "",
             f"  {'word':<{width}}  score  sounds (score; what was heard instead of a wrong one)"]
    for word in result.words:
        sounds = "  ".join(f"{s.phoneme} {s.score:.0f}" + ("" if s.good else f" ✗{' ' + s.heard if s.heard else ''}")
                           for s in word.sounds)
        if word.unscored:
            sounds += f"  (not scored: {' '.join(word.unscored)})"
        lines.append(f"{'  ' if word.good else '✗ '}{word.text:<{width}}  {word.score:5.0f}  {sounds}")
    return "\n".join(lines)
