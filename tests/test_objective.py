"""The pretraining objective: span masks, distractors, and the loss, against `transformers` on the same weights."""

import math

import pytest
import torch
import torch.nn.functional as F
from transformers.models.wav2vec2.modeling_wav2vec2 import Wav2Vec2ForPreTraining

from engine.hf_import import load_hf_folder
from engine.model import Wav2Vec2
from engine.presets import preset
from hf_models import make_hf_pretraining
from training.objective import gumbel_temperature, pretraining_loss, sample_negatives, span_mask

TOLERANCE = 1e-4
VARIANTS = {"base (post-norm, group norm)": False, "large (stable layer norm)": True}


def noisy_tone(batch: int, samples: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    t = torch.arange(samples) / 16000
    return 0.3 * torch.sin(2 * torch.pi * 220 * t) + 0.1 * torch.randn(batch, samples, generator=generator)


def masked_batch(model: Wav2Vec2, batch: int, samples: int, prob: float, span: int, negatives: int,
                 seed: int = 0):
    """Audio with a span mask over its frames and distractors for the masked steps."""
    generator = torch.Generator().manual_seed(seed)
    frames = int(model.feature_encoder.output_lengths(torch.tensor(samples)))
    mask = span_mask((batch, frames), prob, span, generator=generator)
    return noisy_tone(batch, samples, seed), mask, sample_negatives(mask, negatives, generator)


@pytest.mark.parametrize("stable", VARIANTS.values(), ids=VARIANTS.keys())
def test_loss_without_feature_penalty_equals_transformers_pretraining_loss(tmp_path, stable):
    reference: Wav2Vec2ForPreTraining = make_hf_pretraining(tmp_path, stable)
    ours = load_hf_folder(tmp_path).model.eval()
    config = reference.config
    audio, mask, negatives = masked_batch(ours, 2, 32000, config.mask_time_prob, config.mask_time_length,
                                          config.num_negatives)
    frames = mask.shape[1]
    # Hugging Face numbers distractors across the flattened batch; ours index frames of the same utterance.
    flat_negatives = negatives + (torch.arange(2) * frames)[:, None, None]

    with torch.no_grad():
        expected = reference(audio, mask_time_indices=mask, sampled_negative_indices=flat_negatives)
        got = pretraining_loss(ours, audio, None, mask, negatives,
                               logit_temperature=config.contrastive_logits_temperature,
                               diversity_weight=config.diversity_loss_weight, feature_penalty_weight=0.0)

    assert got.total.item() == pytest.approx(expected.loss.item(), rel=TOLERANCE)
    assert got.contrastive.item() == pytest.approx(expected.contrastive_loss.item(), rel=TOLERANCE)
    assert got.diversity.item() == pytest.approx(expected.diversity_loss.item(), rel=TOLERANCE)
    assert got.perplexity.item() == pytest.approx(expected.codevector_perplexity.item(), rel=TOLERANCE)
    assert got.masked == int(mask.sum())
    # Accuracy from the reference's projections: the true target beats every distractor (a distractor
    # identical to the target is ruled out, as in fairseq, where many are with a small random codebook).
    q = expected.projected_quantized_states
    distractors = q.gather(1, negatives.view(2, -1, 1).expand(-1, -1, q.shape[-1])).view(2, frames, -1, q.shape[-1])
    similarity = F.cosine_similarity(expected.projected_states[:, :, None], distractors, dim=-1)
    similarity = similarity.masked_fill((distractors == q[:, :, None]).all(-1), float("-inf"))
    beaten = F.cosine_similarity(expected.projected_states, q, dim=-1) > similarity.amax(-1)
    assert got.accuracy.item() == pytest.approx(beaten[mask].float().mean().item())


def test_feature_penalty_counts_once_per_masked_step_as_in_fairseq():
    torch.manual_seed(0)
    model = Wav2Vec2(preset("test")).eval()
    audio, mask, negatives = masked_batch(model, 2, 16000, 0.65, 4, 10)

    with torch.no_grad():
        loss = pretraining_loss(model, audio, None, mask, negatives)
        features = model(audio, mask=mask).features

    assert loss.feature_penalty.item() == pytest.approx(features.pow(2).mean().item() * loss.masked, rel=1e-6)
    assert loss.total.item() == pytest.approx(
        (loss.contrastive + 0.1 * loss.diversity + 10.0 * loss.feature_penalty).item(), rel=1e-6)


def test_distractors_of_unmasked_steps_do_not_count():
    torch.manual_seed(0)
    model = Wav2Vec2(preset("test")).eval()
    audio, mask, _ = masked_batch(model, 2, 16000, 0.3, 4, 10)
    mask[:, 0] = False  # so that frame 0, the reference's filler for unmasked steps, is not a masked step
    negatives = sample_negatives(mask, 10, torch.Generator().manual_seed(1))
    elsewhere = torch.where(mask[:, :, None], negatives, torch.zeros_like(negatives))

    with torch.no_grad():
        expected = pretraining_loss(model, audio, None, mask, negatives)
        got = pretraining_loss(model, audio, None, mask, elsewhere)

    assert got.total.item() == expected.total.item()


def test_total_loss_trains_every_part_used_in_pretraining():
    torch.manual_seed(0)
    model = Wav2Vec2(preset("test")).train()
    audio, mask, negatives = masked_batch(model, 2, 16000, 0.65, 4, 10)

    pretraining_loss(model, audio, None, mask, negatives).total.backward()

    untrained = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert untrained == []
    names = [name for name, _ in model.named_parameters()]
    for part in ("feature_encoder.", "feature_projection.", "mask_embedding", "transformer.layers.",
                 "transformer.pos_conv.", "quantizer.logits.", "quantizer.codevectors", "project_context.",
                 "project_targets."):
        assert any(name.startswith(part) for name in names), part


def test_span_mask_covers_about_half_the_steps_with_the_paper_settings():
    # 65 spans of 10 over 1000 frames, starts drawn without replacement from the 991 possible:
    # an interior frame stays unmasked when none of the 10 starts before it is drawn,
    # prod_{i<10} (991 - 65 - i) / (991 - i) = 0.506, so 49.4% masked inside; frames near the
    # edges have fewer starts that reach them, 49.0% over the whole utterance (the paper: "about
    # 49%"; 1 - (1 - 0.065)^10 = 48.9% is the with-replacement figure). Measured over 64 rows the
    # standard deviation is 0.0025.
    mask = span_mask((64, 1000), 0.65, 10, generator=torch.Generator().manual_seed(0))

    assert mask.float().mean().item() == pytest.approx(0.490, abs=0.01)


def test_span_mask_is_made_of_whole_spans_from_the_rounded_count():
    mask = span_mask((200, 100), 0.65, 10, min_masks=0, generator=torch.Generator().manual_seed(1))

    # 6.5 spans per row on average, rounded at random to 6 or 7; each masks at most 10 steps,
    # and overlapping spans still leave runs of at least 10.
    masked = mask.sum(dim=1)
    assert masked.min() >= 10 and masked.max() <= 70
    padded = F.pad(mask.int(), (1, 1))
    edges = padded.diff(dim=1)
    runs = (edges == -1).nonzero()[:, 1] - (edges == 1).nonzero()[:, 1]
    assert runs.min() >= 10


def test_span_mask_stays_inside_each_utterance():
    lengths = torch.tensor([300, 120, 45, 8])
    mask = span_mask((4, 300), 0.65, 10, frame_lengths=lengths, generator=torch.Generator().manual_seed(2))

    beyond = torch.arange(300)[None] >= lengths[:, None]
    assert not mask[beyond].any()
    assert mask[:3].sum(dim=1).gt(0).all()
    assert not mask[3].any()  # shorter than one span


def test_span_mask_masks_at_least_min_masks_spans():
    mask = span_mask((50, 100), 0.01, 5, min_masks=3, generator=torch.Generator().manual_seed(3))

    # prob 0.01 asks for 0.2 spans; three spans of 5 mask at least 5 steps and at most 15.
    masked = mask.sum(dim=1)
    assert masked.min() >= 5 and masked.max() <= 15
    assert (masked > 5).float().mean() > 0.9  # three spans seldom fall on one another


def test_span_mask_is_reproducible_from_the_generator():
    def draw(seed):
        return span_mask((8, 500), 0.65, 10, generator=torch.Generator().manual_seed(seed))

    assert torch.equal(draw(4), draw(4))
    assert not torch.equal(draw(4), draw(5))


def test_negatives_are_other_masked_steps_of_the_same_utterance():
    lengths = torch.tensor([400, 250, 90])
    generator = torch.Generator().manual_seed(6)
    mask = span_mask((3, 400), 0.65, 10, frame_lengths=lengths, generator=generator)

    negatives = sample_negatives(mask, 100, generator)

    assert negatives.shape == (3, 400, 100) and negatives.dtype == torch.long
    assert negatives.min() >= 0 and negatives.max() < 400
    drawn = negatives[mask]  # (masked steps, 100)
    utterance = mask.nonzero()[:, 0]
    step = mask.nonzero()[:, 1]
    assert mask[utterance[:, None], drawn].all()
    assert (drawn != step[:, None]).all()


def test_negatives_are_drawn_uniformly_from_the_other_masked_steps():
    mask = torch.zeros(1, 30, dtype=torch.bool)
    mask[0, [3, 4, 5, 17, 18, 29]] = True

    negatives = sample_negatives(mask, 6000, torch.Generator().manual_seed(7))

    # Each of the 5 others expected 1200 times out of 6000 (standard deviation 31).
    counts = torch.bincount(negatives[0, 4], minlength=30)
    assert counts[4] == 0 and counts[~mask[0]].sum() == 0
    assert ((counts[mask[0]][[0, 2, 3, 4, 5]] - 1200).abs() < 150).all()


def test_negatives_are_reproducible_from_the_generator():
    mask = span_mask((4, 200), 0.65, 10, generator=torch.Generator().manual_seed(8))

    def draw(seed):
        return sample_negatives(mask, 20, torch.Generator().manual_seed(seed))

    assert torch.equal(draw(9), draw(9))
    assert not torch.equal(draw(9), draw(10))


def test_an_utterance_with_a_single_masked_step_has_no_distractors():
    mask = torch.zeros(2, 20, dtype=torch.bool)
    mask[0, 5:9] = True
    mask[1, 11] = True

    with pytest.raises(ValueError, match="single masked step"):
        sample_negatives(mask, 5)


def test_gumbel_temperature_anneals_from_start_to_end():
    assert gumbel_temperature(0) == 2.0
    # 2 * 0.999995**s reaches 0.5 at s = ln(1/4) / ln(0.999995) = 277,258 updates.
    crossing = math.log(0.25) / math.log(0.999995)
    assert gumbel_temperature(int(crossing) - 1000) > 0.5
    assert gumbel_temperature(int(crossing) + 1) == 0.5
    assert gumbel_temperature(10**7) == 0.5
    assert gumbel_temperature(100_000) == pytest.approx(2.0 * 0.999995**100_000)
