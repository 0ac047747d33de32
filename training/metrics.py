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
