"""Error rates: character and word edit distance over the reference length."""

from torchaudio.functional import edit_distance


def character_error_rate(references: list[str], hypotheses: list[str]) -> float:
    """Total character edits over total reference characters (spaces count as characters)."""
    edits = sum(edit_distance(list(r), list(h)) for r, h in zip(references, hypotheses, strict=True))
    return edits / max(1, sum(len(r) for r in references))


def word_error_rate(references: list[str], hypotheses: list[str]) -> float:
    """Total word edits over total reference words."""
    edits = sum(edit_distance(r.split(), h.split()) for r, h in zip(references, hypotheses, strict=True))
    return edits / max(1, sum(len(r.split()) for r in references))


def phoneme_error_rates(references: list[str], hypotheses: list[str]) -> tuple[float, float]:
    """For phoneme transcripts ("h ə l oʊ | w ɜː l d"): the phoneme error rate (word breaks count as
    tokens) and the rate of words not spoken exactly (each word's phonemes as one unit)."""
    def words(transcripts: list[str]) -> list[str]:
        return [" ".join(w.replace(" ", "") for w in t.split("|")) for t in transcripts]

    return word_error_rate(references, hypotheses), word_error_rate(words(references), words(hypotheses))
