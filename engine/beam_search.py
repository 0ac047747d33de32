"""CTC beam search with a character n-gram language model.

A model folder may carry a language model (``language_model.arpa``, written by
`vivavoce train lm`): an n-gram model over the model's own tokens, the word
delimiter included. The search is flashlight's lexicon-free CTC decoder with
KenLM scoring the tokens, so every word the model can spell stays possible
(names, new words) while the spellings of the language win over near misses
that sound the same ("temporerilly" -> "temporarily").

`BeamSearchDecoder.best_path` returns what the greedy `decode.best_path` does,
a token and its probability per frame, so word timing and confidence
(`decode.decode_words`) are the same for both.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .errors import ModelError
from .text import Vocabulary

MAX_ORDER = 6  # the largest n KenLM, as flashlight-text's wheel builds it, reads
UNKNOWN = "<unk>"


@dataclass(frozen=True)
class LanguageModelSettings:
    """The ``language_model`` section of a model's config.json.

    file : the ARPA file, relative to the model folder
    weight : how much the language model's log-probability counts against the acoustic one
    beam : hypotheses kept at each frame
    """

    file: str = "language_model.arpa"
    weight: float = 1.0
    beam: int = 50

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> LanguageModelSettings:
        if Path(str(values["file"])).name != values["file"]:
            raise ValueError(f"language_model.file must name a file in the model folder, not {values['file']!r}")
        return cls(file=str(values["file"]), weight=float(values.get("weight", 1.0)),
                   beam=int(values.get("beam", 50)))


@contextlib.contextmanager
def _native_output_silenced():
    """KenLM writes a loading bar and advice to the process's stdout and stderr; the user needs neither."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)


class BeamSearchDecoder:
    """Beam search over (frames, vocab) log-probabilities with the token language model at ``path``.

    ``beam`` overrides the settings' beam (streaming uses a narrower one).
    Raises `ModelError` naming the file if it is missing or not a language model the search can read.
    """

    def __init__(self, path: Path, vocabulary: Vocabulary, settings: LanguageModelSettings,
                 beam: int | None = None, _lm=None):
        from flashlight.lib.text.decoder import CriterionType, LexiconFreeDecoder, LexiconFreeDecoderOptions

        self.path, self.vocabulary, self.settings = Path(path), vocabulary, settings
        self._lm = _lm or self._load(self.path, vocabulary)
        self.beam = beam or settings.beam
        options = LexiconFreeDecoderOptions(
            beam_size=self.beam, beam_size_token=len(vocabulary), beam_threshold=25.0,
            lm_weight=settings.weight, sil_score=0.0, log_add=False, criterion_type=CriterionType.CTC)
        self._decoder = LexiconFreeDecoder(options, self._lm, vocabulary.tokens.index(vocabulary.delimiter),
                                           vocabulary.blank, [])
        self.vocab_size = len(vocabulary)

    def variant(self, beam: int | None = None, weight: float | None = None) -> BeamSearchDecoder:
        """A decoder like this one with another beam or language-model weight, sharing its language
        model (a search keeps state while it runs: one decoder per thread)."""
        settings = self.settings if weight is None else dataclasses.replace(self.settings, weight=weight)
        return BeamSearchDecoder(self.path, self.vocabulary, settings, beam or self.beam, self._lm)

    @staticmethod
    def _load(path: Path, vocabulary: Vocabulary):
        from flashlight.lib.text.decoder.kenlm import KenLM
        from flashlight.lib.text.dictionary import Dictionary

        if not path.is_file():
            raise ModelError(f"{path}: the model's language model is missing")
        if vocabulary.delimiter not in vocabulary.tokens:
            raise ModelError(f"{path}: a language model needs a vocabulary with a word delimiter")
        tokens = Dictionary()
        for token in vocabulary.tokens:
            tokens.add_entry(token)
        if UNKNOWN not in vocabulary.tokens:  # Hugging Face vocabularies have one of their own
            tokens.add_entry(UNKNOWN)
        try:
            with _native_output_silenced():
                return KenLM(str(path), tokens)
        except RuntimeError as error:
            reason = str(error).strip().splitlines()[-1] if str(error).strip() else "unreadable"
            raise ModelError(f"{path}: not a language model the decoder can read ({reason})") from None

    def best_path(self, log_probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The best-scoring token at each frame and its probability under the acoustic model.

        log_probs : (frames, vocab) log-softmax scores
        Returns (ids int32 (frames,), probabilities float32 (frames,)).
        """
        frames = len(log_probs)
        if frames == 0:
            return np.zeros(0, np.int32), np.zeros(0, np.float32)
        if log_probs.shape[1] != self.vocab_size:
            raise ValueError(f"log_probs has {log_probs.shape[1]} tokens, the decoder {self.vocab_size}")
        emissions = np.ascontiguousarray(log_probs, dtype=np.float32)
        best = self._decoder.decode(emissions.ctypes.data, frames, self.vocab_size)[0]
        # The path carries a word boundary before the first frame and after the last.
        ids = np.asarray(best.tokens[1:frames + 1], dtype=np.int32)
        probs = np.exp(np.take_along_axis(emissions, ids[:, None].astype(np.int64), axis=-1)[:, 0])
        return ids, probs.astype(np.float32)
