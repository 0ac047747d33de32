"""`vivavoce train evaluate`: a model's error rates on a folder of recordings with transcripts."""

import csv
from dataclasses import dataclass
from pathlib import Path

import torch

from engine.audio import AudioFile
from engine.decode import collapse
from engine.errors import VivavoceError
from engine.recognizer import Recognizer
from engine.store import load_model

from .data import scan
from .metrics import character_error_rate, phoneme_error_rates, word_error_rate


@dataclass
class Scored:
    path: Path
    reference: str
    hypothesis: str
    cer: float
    wer: float


@dataclass
class Evaluation:
    model: str
    utterances: list[Scored]
    cer: float
    wer: float
    skipped: list[tuple[Path, str]]
    groups: dict[str, tuple[int, float, float]] | None = None  # name -> (recordings, CER, WER)
    decoder: str = "greedy"  # or "language model": how the text was decoded
    phonemes: bool = False  # a phoneme model: "cer" is the phoneme error rate, "wer" words not said exactly


GROUPINGS = ("engine", "source")
"""How `evaluate` can break its totals down: ``engine``, the synthesiser of each recording (the
``engine`` column of a `vivavoce train synth` manifest); ``source``, the part of each file name
before its first underscore (``asterisk_agent-loginok.flac`` -> ``asterisk``)."""


def _group_of(data: Path, by: str):
    if by == "source":
        return lambda path: path.stem.split("_", 1)[0]
    manifest = data / "manifest.tsv"
    try:
        with open(manifest, newline="", encoding="utf-8") as f:
            engines = {(data / row["path"]).resolve(): row["engine"] for row in csv.DictReader(f, delimiter="\t")}
    except (OSError, KeyError) as error:
        raise VivavoceError(f"{manifest}: --by engine needs a synthetic corpus's manifest with path and engine "
                            f"columns ({getattr(error, 'strerror', None) or f'no {error} column'})") from None
    return lambda path: engines.get(path.resolve(), "unknown")


def evaluate(model: str, data: str, device: torch.device, progress=None, by: str | None = None,
             language_model: bool = True) -> Evaluation:
    """Transcribe every recording with a transcript in ``data`` and score it against the transcript.

    References are normalised with the model's own text rules; CER and WER
    are totals over the folder (edits over reference length), and over each
    group when ``by`` names one of `GROUPINGS`. The model's language model
    decodes when it has one, unless ``language_model`` is false (greedy).
    """
    if by is not None and by not in GROUPINGS:
        raise VivavoceError(f"--by {by}: choose one of {', '.join(GROUPINGS)}")
    group_of = _group_of(Path(data), by) if by else None
    loaded = load_model(model)
    recognizer = Recognizer(loaded, device, language_model=language_model)
    corpus = scan(data)
    rules = loaded.config.text
    labelled = [u for u in corpus.labelled if rules.apply(u.text)]
    if not labelled:
        raise VivavoceError(f"{data}: no recordings with transcripts to evaluate on")
    phonemes = loaded.config.vocabulary is not None and loaded.config.vocabulary.phonemes
    rates = phoneme_error_rates if phonemes else _character_and_word_rates
    scored = []
    for i, utterance in enumerate(labelled):
        with AudioFile(utterance.path) as audio:
            hypothesis = (phoneme_transcript(recognizer, audio) if phonemes
                          else recognizer.transcribe(audio).text)
        reference = rules.apply(utterance.text)
        scored.append(Scored(utterance.path, reference, hypothesis, *rates([reference], [hypothesis])))
        if progress:
            progress(i + 1, len(labelled))
    groups = None
    if group_of:
        members: dict[str, list[Scored]] = {}
        for s in scored:
            members.setdefault(group_of(s.path), []).append(s)
        groups = {name: (len(group), *_totals(group, rates)) for name, group in sorted(members.items())}
    return Evaluation(loaded.config.name or model, scored, *_totals(scored, rates), corpus.unreadable, groups,
                      "language model" if recognizer.decoder else "greedy", phonemes)


def _character_and_word_rates(references: list[str], hypotheses: list[str]) -> tuple[float, float]:
    return character_error_rate(references, hypotheses), word_error_rate(references, hypotheses)


def phoneme_transcript(recognizer: Recognizer, audio: AudioFile) -> str:
    """A phoneme model's greedy reading of a (short) file, written as phoneme transcripts are."""
    vocabulary = recognizer.vocabulary
    ids = collapse(recognizer.log_probs(audio.read(0, audio.num_samples)).argmax(-1), vocabulary)
    return " ".join("|" if vocabulary.is_delimiter(i) else vocabulary.tokens[i] for i in ids)


def _totals(scored: list[Scored], rates=_character_and_word_rates) -> tuple[float, float]:
    return rates([s.reference for s in scored], [s.hypothesis for s in scored])


def report(evaluation: Evaluation, worst: int = 10) -> str:
    cer_name, wer_name = ("PER", "words wrong") if evaluation.phonemes else ("CER", "WER")
    lines = [f"model {evaluation.model} ({evaluation.decoder}): {len(evaluation.utterances)} recordings, "
             f"{cer_name} {100 * evaluation.cer:.1f}%, {wer_name} {100 * evaluation.wer:.1f}%"]
    for name, (count, cer, wer) in (evaluation.groups or {}).items():
        lines.append(f"  {name}: {count} recordings, {cer_name} {100 * cer:.1f}%, {wer_name} {100 * wer:.1f}%")
    if evaluation.skipped:
        lines.append(f"{len(evaluation.skipped)} unreadable files skipped")
    ranked = sorted(evaluation.utterances, key=lambda s: s.cer, reverse=True)[:worst]
    if ranked:
        lines += ["", f"worst {len(ranked)}:"]
        for s in ranked:
            lines += [f"  {100 * s.cer:5.1f}% {cer_name}  {s.path}", f"         ref: {s.reference}",
                      f"         hyp: {s.hypothesis}"]
    return "\n".join(lines)
