"""`vivavoce train evaluate`: a model's error rates on a folder of recordings with transcripts."""

from dataclasses import dataclass
from pathlib import Path

import torch

from engine.audio import AudioFile
from engine.errors import VivavoceError
from engine.recognizer import Recognizer
from engine.store import load_model

from .data import scan
from .metrics import character_error_rate, word_error_rate


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


def evaluate(model: str, data: str, device: torch.device, progress=None) -> Evaluation:
    """Transcribe every recording with a transcript in ``data`` and score it against the transcript.

    References are normalised with the model's own text rules; CER and WER
    are totals over the folder (edits over reference length).
    """
    loaded = load_model(model)
    recognizer = Recognizer(loaded, device)
    corpus = scan(data)
    rules = loaded.config.text
    labelled = [u for u in corpus.labelled if rules.apply(u.text)]
    if not labelled:
        raise VivavoceError(f"{data}: no recordings with transcripts to evaluate on")
    scored = []
    for i, utterance in enumerate(labelled):
        with AudioFile(utterance.path) as audio:
            hypothesis = recognizer.transcribe(audio).text
        reference = rules.apply(utterance.text)
        scored.append(Scored(utterance.path, reference, hypothesis, character_error_rate([reference], [hypothesis]),
                             word_error_rate([reference], [hypothesis])))
        if progress:
            progress(i + 1, len(labelled))
    references, hypotheses = [s.reference for s in scored], [s.hypothesis for s in scored]
    return Evaluation(loaded.config.name or model, scored, character_error_rate(references, hypotheses),
                      word_error_rate(references, hypotheses), corpus.unreadable)


def report(evaluation: Evaluation, worst: int = 10) -> str:
    lines = [f"model {evaluation.model}: {len(evaluation.utterances)} recordings, "
             f"CER {100 * evaluation.cer:.1f}%, WER {100 * evaluation.wer:.1f}%"]
    if evaluation.skipped:
        lines.append(f"{len(evaluation.skipped)} unreadable files skipped")
    ranked = sorted(evaluation.utterances, key=lambda s: s.cer, reverse=True)[:worst]
    if ranked:
        lines += ["", f"worst {len(ranked)}:"]
        for s in ranked:
            lines += [f"  {100 * s.cer:5.1f}% CER  {s.path}", f"         ref: {s.reference}",
                      f"         hyp: {s.hypothesis}"]
    return "\n".join(lines)
