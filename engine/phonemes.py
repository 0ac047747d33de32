"""What a sentence should sound like: espeak-ng's phonemes, word by word.

Phoneme models are trained on these transcripts and pronunciation is scored
against them, so both come from here. A transcript is written with phonemes
separated by spaces and ``|`` between words: ``h ə l oʊ | w ɜː l d``. Stress
marks are dropped (a phoneme model hears sounds, not which syllable is
stressed); length marks stay with their vowel (``iː``).
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import VivavoceError

if TYPE_CHECKING:
    import numpy as np

WORD_BREAK = "|"
STRESS = "ˈˌ"
# The accents a learner can practise, as espeak-ng's voices name them.
ACCENTS = {"en-us": "American English", "en-gb": "British English", "en-gb-scotland": "Scottish English"}
DEFAULT_ACCENT = "en-us"


class PhonemizerError(VivavoceError):
    """espeak-ng is missing, or could not phonemize the text."""


@dataclass(frozen=True)
class TargetWord:
    """A written word of the target sentence and the phonemes it should be spoken with."""

    text: str
    phonemes: tuple[str, ...]


def espeak() -> str:
    found = shutil.which("espeak-ng")
    if found is None:
        raise PhonemizerError("espeak-ng is not installed: it gives the phonemes a sentence should be spoken with "
                              "(Debian/Ubuntu: sudo apt install espeak-ng)")
    return found


def _espeak_words(text: str, voice: str) -> list[tuple[str, ...]]:
    """espeak-ng's phonemes of ``text`` in ``voice``, as its spoken words."""
    try:
        result = subprocess.run([espeak(), "-q", "--ipa", "--sep=_", "-v", voice, text],
                                capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        raise PhonemizerError(f"espeak-ng gave no phonemes within 60 s for {text[:40]!r}") from None
    if result.returncode != 0 or result.stderr.strip():
        reason = result.stderr.decode(errors="replace").strip().splitlines() or [f"exit status {result.returncode}"]
        raise PhonemizerError(f"espeak-ng voice {voice}: {reason[-1]}")
    words = []
    for word in result.stdout.decode().split():
        phonemes = tuple(p for p in (part.strip(STRESS) for part in re.split(r"_+", word)) if p)
        if phonemes:
            words.append(phonemes)
    return words


@functools.lru_cache(maxsize=4096)
def spoken_words(text: str, voice: str = DEFAULT_ACCENT) -> tuple[tuple[str, ...], ...]:
    """The phonemes of ``text`` as espeak-ng speaks it, one tuple per spoken word.

    espeak-ng reads numbers, abbreviations and symbols aloud, and joins some
    words that run together ("out of" is one spoken word).
    """
    return tuple(_espeak_words(text, voice))


def transcript(text: str, voice: str = DEFAULT_ACCENT) -> str:
    """The phoneme transcript of ``text``: ``h ə l oʊ | w ɜː l d``."""
    return f" {WORD_BREAK} ".join(" ".join(word) for word in spoken_words(text, voice))


def written_words(text: str) -> list[str]:
    """The words of ``text`` as a reader sees them, without the punctuation around them."""
    words = (re.sub(r"^[^\w']+|[^\w']+$", "", word) for word in text.split())
    return [word for word in words if any(c.isalnum() for c in word)]


def target_words(text: str, voice: str = DEFAULT_ACCENT) -> list[TargetWord]:
    """Each written word of ``text`` with the phonemes it takes in the sentence.

    The sentence is phonemized whole, so its words take their connected-speech
    forms (the weak "the" and "to"), then each sound is given to a written word
    by aligning the sentence's phonemes with those of each word said alone.
    """
    words = written_words(text)
    if not words:
        raise PhonemizerError("the sentence to practise has no words")
    sentence = [p for word in spoken_words(text, voice) for p in word]
    alone: list[tuple[str, int]] = []
    for index, word in enumerate(words):
        alone += [(p, index) for spoken in spoken_words(word, voice) for p in spoken]
    owners = _align_owners(sentence, alone)
    grouped: list[list[str]] = [[] for _ in words]
    for phoneme, owner in zip(sentence, owners):
        grouped[owner].append(phoneme)
    return [TargetWord(word, tuple(phonemes)) for word, phonemes in zip(words, grouped)]


def _align_owners(sentence: list[str], alone: list[tuple[str, int]]) -> list[int]:
    """For each phoneme of ``sentence``, the word whose phonemes said alone it lines up with.

    A Levenshtein alignment (substitution 1, or 0.5 between vowels that differ only
    by length or reduction); an inserted phoneme goes to the word before it (the
    first word, at the start). Owners never decrease along the sentence.
    """
    n, m = len(sentence), len(alone)
    if not m:
        return [0] * n
    cost = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        cost[i][0] = float(i)
    for j in range(1, m + 1):
        cost[0][j] = float(j)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            a, b = sentence[i - 1], alone[j - 1][0]
            substitution = 0.0 if a == b else 0.5 if a[0] == b[0] else 1.0
            cost[i][j] = min(cost[i - 1][j - 1] + substitution, cost[i - 1][j] + 1, cost[i][j - 1] + 1)
    owners = [0] * n
    i, j = n, m
    while i > 0:
        a = sentence[i - 1]
        if j > 0:
            b = alone[j - 1][0]
            substitution = 0.0 if a == b else 0.5 if a[0] == b[0] else 1.0
            if cost[i][j] == cost[i - 1][j - 1] + substitution:
                owners[i - 1] = alone[j - 1][1]
                i, j = i - 1, j - 1
                continue
            if cost[i][j] == cost[i][j - 1] + 1:
                j -= 1
                continue
        owners[i - 1] = alone[j - 1][1] if j > 0 else 0
        i -= 1
    for k in range(1, n):  # keep words contiguous
        owners[k] = max(owners[k], owners[k - 1])
    return owners


def speak(text: str, voice: str = DEFAULT_ACCENT, words_per_minute: int = 140) -> tuple[np.ndarray, int]:
    """``text`` read by espeak-ng in ``voice``, a little slower than its default: (mono float32 samples, rate)."""
    import io

    import soundfile

    try:
        result = subprocess.run([espeak(), "-v", voice, "-s", str(words_per_minute), "--stdout", text],
                                capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        raise PhonemizerError(f"espeak-ng did not finish speaking {text[:40]!r} within 60 s") from None
    if result.returncode != 0 or not result.stdout:
        reason = result.stderr.decode(errors="replace").strip().splitlines() or [f"exit status {result.returncode}"]
        raise PhonemizerError(f"espeak-ng voice {voice}: {reason[-1]}")
    samples, rate = soundfile.read(io.BytesIO(result.stdout), dtype="float32")
    return samples, rate
