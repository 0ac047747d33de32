"""Vocabularies and text normalisation, as a model folder describes them."""

import re
import unicodedata
from dataclasses import dataclass, field

CASES = ("lower", "upper", "keep")


@dataclass(frozen=True)
class TextRules:
    """How text is normalised for a model: for training transcripts and for the text it outputs.

    case : "lower", "upper" or "keep"
    strip_punctuation : replace punctuation and symbols by spaces, keeping apostrophes inside words
    """

    case: str = "lower"
    strip_punctuation: bool = True

    def __post_init__(self):
        if self.case not in CASES:
            raise ValueError(f"text case must be one of {', '.join(CASES)}, not {self.case!r}")

    def apply(self, text: str) -> str:
        text = unicodedata.normalize("NFC", text)
        if self.case == "lower":
            text = text.lower()
        elif self.case == "upper":
            text = text.upper()
        if self.strip_punctuation:
            text = "".join(c if c == "'" or unicodedata.category(c)[0] not in "PS" else " " for c in text)
            text = re.sub(r"(?<!\w)'|'(?!\w)", " ", text)
        return re.sub(r"\s+", " ", text).strip()

    def to_dict(self) -> dict:
        return {"case": self.case, "strip_punctuation": self.strip_punctuation}

    @classmethod
    def from_dict(cls, values: dict) -> "TextRules":
        return cls(**values)


@dataclass(frozen=True)
class Vocabulary:
    """The output symbols of a CTC head, in index order.

    ``blank`` is the index of the CTC blank; ``delimiter`` the token that
    separates words (written as a space); ``special`` the tokens that never
    appear in text (sentence marks, unknown). ``phonemes``: the tokens are
    phonemes, which a transcript writes with spaces between them and ``|``
    between words (``h ə l oʊ | w ɜː l d``); otherwise they are characters.
    """

    tokens: tuple[str, ...]
    blank: int
    delimiter: str | None = "|"
    special: frozenset[str] = field(default_factory=frozenset)
    phonemes: bool = False

    def __post_init__(self):
        if len(set(self.tokens)) != len(self.tokens):
            raise ValueError("the vocabulary lists a token twice")
        if not 0 <= self.blank < len(self.tokens):
            raise ValueError(f"the blank index {self.blank} is outside the vocabulary of {len(self.tokens)}")

    def __len__(self) -> int:
        return len(self.tokens)

    def is_delimiter(self, index: int) -> bool:
        return self.tokens[index] == self.delimiter

    def is_silent(self, index: int) -> bool:
        """True for the blank and special tokens, which write nothing."""
        return index == self.blank or self.tokens[index] in self.special

    def split(self, transcript: str) -> list[str]:
        """The tokens a (normalised) transcript is written with; a word break becomes the delimiter.

        A phoneme vocabulary without a delimiter (as public phoneme models have) drops the word breaks.
        """
        if not self.phonemes:
            return [self.delimiter if c == " " else c for c in transcript]
        tokens = [self.delimiter if token == "|" else token for token in transcript.split()]
        return [token for token in tokens if token is not None]

    def encode(self, transcript: str) -> list[int] | None:
        """Token ids of a normalised transcript, or None if it holds a token the vocabulary lacks."""
        index = {token: i for i, token in enumerate(self.tokens)}
        try:
            return [index[token] for token in self.split(transcript)]
        except KeyError:
            return None

    def to_dict(self) -> dict:
        return {"tokens": list(self.tokens), "blank": self.blank, "delimiter": self.delimiter,
                "special": sorted(self.special), **({"phonemes": True} if self.phonemes else {})}

    @classmethod
    def from_dict(cls, values: dict) -> "Vocabulary":
        return cls(tuple(values["tokens"]), int(values["blank"]), values.get("delimiter"),
                   frozenset(values.get("special", ())), bool(values.get("phonemes", False)))
