"""The wav2vec 2.0 pretraining objective (Baevski et al., 2020, section 3.2), as fairseq computes it.

Spans of feature-encoder steps are masked (`span_mask`); at every masked step
the model must pick the true quantized target among K distractors drawn from
the other masked steps of the same utterance (`sample_negatives`), scored by
cosine similarity over a temperature (the contrastive loss). A diversity loss
keeps the codebooks in use, and a small L2 penalty keeps the feature encoder's
activations from growing (`pretraining_loss`). The Gumbel softmax temperature
of the quantizer is annealed with `gumbel_temperature`.

Masks and distractors are drawn with torch random numbers only, so a
``torch.Generator`` makes them reproducible (a data loader worker seeds its own).
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from engine.model import Wav2Vec2, contrastive_logits


def span_mask(shape: tuple[int, int], prob: float, span: int, min_masks: int = 2,
              frame_lengths: Tensor | None = None, generator: torch.Generator | None = None) -> Tensor:
    """Steps to mask for pretraining, in spans of ``span`` steps (fairseq's "static" mask).

    shape : (batch, frames)
    prob : the fraction of steps masked if spans never overlapped (the paper's 0.65 with
        spans of 10: 6.5% of the steps start a span); overlaps leave about 49% masked
    frame_lengths : long (batch,), valid frames per utterance; masks stay inside them
    Returns bool (batch, frames), True on masked steps.

    Each utterance of ``length`` frames gets ``int(prob * length / span + u)``
    spans (``u`` uniform in [0, 1): random rounding), at least ``min_masks``,
    at most one per possible start; the starts are drawn uniformly without
    replacement from [0, length - span]. An utterance shorter than ``span`` is
    not masked.
    """
    batch, frames = shape
    device = frame_lengths.device if frame_lengths is not None else torch.device("cpu")
    lengths = (frame_lengths if frame_lengths is not None
               else torch.full((batch,), frames, dtype=torch.long, device=device))
    starts = (lengths - span + 1).clamp(min=0)
    rounding = torch.rand(batch, generator=generator, device=device)
    counts = (prob * lengths / span + rounding).floor().long().clamp(min=min_masks)
    counts = torch.minimum(counts, starts)
    # A random permutation of each row's possible starts: sort uniform keys, impossible starts last.
    keys = torch.rand(batch, frames, generator=generator, device=device)
    keys.masked_fill_(torch.arange(frames, device=device) >= starts[:, None], 2.0)
    most = int(counts.max())
    chosen = keys.argsort(dim=1)[:, :most]
    used = torch.arange(most, device=device) < counts[:, None]
    steps = (chosen[:, :, None] + torch.arange(span, device=device)).clamp(max=frames - 1)
    hits = torch.zeros(batch, frames, dtype=torch.int32, device=device)
    hits.scatter_add_(1, steps.reshape(batch, -1), used[:, :, None].expand(-1, -1, span).reshape(batch, -1).int())
    return hits > 0


def sample_negatives(mask: Tensor, num_negatives: int, generator: torch.Generator | None = None) -> Tensor:
    """Distractor steps for the contrastive task.

    mask : bool (batch, frames), the masked steps
    Returns long (batch, frames, num_negatives): for each masked step, frame
    indices drawn uniformly, with replacement, from the other masked steps of
    the same utterance (never the step itself). Unmasked steps get arbitrary
    valid frame indices; they are not scored.

    As fairseq and Hugging Face do: draw from the n - 1 other masked steps and
    skip over the step's own rank. Raises ValueError if an utterance has
    exactly one masked step (it has no distractor to draw).
    """
    batch, frames = mask.shape
    count = mask.sum(dim=1)
    if bool((count == 1).any()):
        raise ValueError("an utterance has a single masked step: there is no distractor to draw for it")
    # Frame indices of the masked steps first, in order; rank = position of a masked step among them.
    masked_frames = torch.argsort((~mask).to(torch.uint8), dim=1, stable=True)
    rank = mask.long().cumsum(dim=1) - 1
    others = (count - 1).clamp(min=1)[:, None, None]
    draw = (torch.rand(batch, frames, num_negatives, generator=generator, device=mask.device) * others).long()
    draw += (draw >= rank[:, :, None]).long()
    draw.clamp_(max=frames - 1)
    return masked_frames.gather(1, draw.view(batch, -1)).view(batch, frames, num_negatives)


@dataclass
class PretrainingLoss:
    """One batch's objective; every field is a scalar, and only ``total`` carries gradients.

    total : contrastive + diversity_weight * diversity + feature_penalty_weight * feature_penalty
    contrastive : cross-entropy of the true target, summed over the masked steps (nats)
    diversity : (G*V - perplexity) / (G*V), times the number of masked steps
    feature_penalty : mean square of the feature encoder's output, times the number of masked steps
    accuracy : fraction of masked steps where the true target scores above every distractor
        (a distractor identical to the target does not count; NaN when nothing is masked)
    perplexity : codebook perplexity over the masked steps, summed over codebooks (at most G*V)
    masked : number of masked steps (the sum's size: divide by it for a per-step loss)
    """

    total: Tensor
    contrastive: Tensor
    diversity: Tensor
    feature_penalty: Tensor
    accuracy: Tensor
    perplexity: Tensor
    masked: int


def pretraining_loss(model: Wav2Vec2, waveform: Tensor, lengths: Tensor | None, mask: Tensor,
                     negatives: Tensor, logit_temperature: float = 0.1, diversity_weight: float = 0.1,
                     feature_penalty_weight: float = 10.0) -> PretrainingLoss:
    """The wav2vec 2.0 loss of one batch; the defaults are the paper's BASE settings.

    waveform : (batch, samples), 16 kHz, normalised as the model expects
    lengths : long (batch,), valid samples per row, or None when no row is padded
    mask : bool (batch, frames), the masked steps (`span_mask`, within the valid frames)
    negatives : long (batch, frames, K), distractors: other masked steps of the same utterance
        (`sample_negatives`); those of unmasked steps are ignored

    Every part is a sum over the masked steps, as in fairseq's criterion (which
    multiplies the diversity and feature penalties by the sample size); with
    ``feature_penalty_weight`` 0, ``total`` is Hugging Face's
    Wav2Vec2ForPreTraining loss.
    """
    encoded = model(waveform, lengths, mask)
    context, targets, perplexity = model.pretraining_targets(encoded, mask)
    # Only masked steps are scored, and only masked steps are distractors: score the masked
    # steps alone (half the work and memory of scoring every step, the same numbers).
    keep, kept, negatives = _masked_steps(mask, negatives)
    context, targets = (x.gather(1, keep[:, :, None].expand(-1, -1, x.shape[-1])) for x in (context, targets))
    logits = contrastive_logits(context, targets, negatives, logit_temperature)[kept].float()
    masked = mask.sum()
    contrastive = F.cross_entropy(logits, logits.new_zeros(logits.shape[0], dtype=torch.long),
                                  reduction="sum")
    codevectors = model.arch.codebooks * model.arch.codebook_entries
    diversity = (codevectors - perplexity) / codevectors * masked
    feature_penalty = encoded.features.float().pow(2).mean() * masked
    total = contrastive + diversity_weight * diversity + feature_penalty_weight * feature_penalty
    with torch.no_grad():
        accuracy = (logits[:, 0] > logits[:, 1:].amax(dim=1)).float().mean()
    return PretrainingLoss(total, contrastive.detach(), diversity.detach(), feature_penalty.detach(),
                           accuracy, perplexity.detach(), int(masked))


def _masked_steps(mask: Tensor, negatives: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Each utterance's masked steps, in order, with the distractors renumbered among them.

    mask : bool (batch, frames); negatives : long (batch, frames, K)
    Returns keep, long (batch, M), the frames of the masked steps first (M is the
    most masked steps of any utterance; shorter rows are filled with other frames);
    kept, bool (batch, M), True where keep holds a masked step; and the masked
    steps' distractors as indices into keep, long (batch, M, K).
    """
    count = mask.sum(dim=1)
    most = int(count.max())
    keep = torch.argsort((~mask).to(torch.uint8), dim=1, stable=True)[:, :most]
    kept = torch.arange(most, device=mask.device) < count[:, None]
    rank = (mask.long().cumsum(dim=1) - 1).clamp(min=0)  # unmasked steps' distractors are never scored
    chosen = negatives.gather(1, keep[:, :, None].expand(-1, -1, negatives.shape[-1]))
    return keep, kept, rank.gather(1, chosen.flatten(1)).view_as(chosen)


def gumbel_temperature(step: int, start: float = 2.0, end: float = 0.5, decay: float = 0.999995) -> float:
    """The quantizer's Gumbel softmax temperature at ``step``: fairseq's ``max(start * decay**step, end)``."""
    return max(start * decay**step, end)
