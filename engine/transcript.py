"""What recognition produces: words with times, and the text they make."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Word:
    """One recognised word.

    ``start`` and ``end`` are seconds from the start of the audio;
    ``confidence`` is in [0, 1] (the mean posterior of the word's characters).
    """

    text: str
    start: float
    end: float
    confidence: float


@dataclass
class Transcript:
    """The recognition result for one audio file or stream."""

    words: list[Word] = field(default_factory=list)
    duration: float = 0.0

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)
