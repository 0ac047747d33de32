"""Numerical parity with Hugging Face `transformers` on the same weights: the proof that imported models behave."""

import numpy as np
import pytest
import torch
from transformers import Wav2Vec2FeatureExtractor
from transformers.models.wav2vec2.modeling_wav2vec2 import (Wav2Vec2ForPreTraining,
                                                            _compute_mask_indices,
                                                            _sample_negative_indices)

from engine.hf_import import load_hf_folder
from engine.model import contrastive_logits
from engine.store import import_model, load_model
from hf_models import make_hf_ctc, make_hf_pretraining

TOLERANCE = 1e-4
VARIANTS = {"base (post-norm, group norm)": False, "large (stable layer norm)": True}


def speechlike(batch: int, samples: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    t = torch.arange(samples) / 16000
    tone = torch.sin(2 * torch.pi * 220 * t) * (torch.sin(2 * torch.pi * 2 * t) > 0)
    return 0.3 * tone + 0.1 * torch.randn(batch, samples, generator=generator)


@pytest.mark.parametrize("stable", VARIANTS.values(), ids=VARIANTS.keys())
def test_ctc_logits_match_transformers(tmp_path, stable):
    reference = make_hf_ctc(tmp_path, stable)
    ours = load_hf_folder(tmp_path).model.eval()
    audio = speechlike(2, 24000)

    with torch.no_grad():
        expected = reference(audio).logits
        got = ours.ctc_logits(audio)

    assert got.shape == expected.shape
    assert (got - expected).abs().max().item() < TOLERANCE


@pytest.mark.parametrize("stable", VARIANTS.values(), ids=VARIANTS.keys())
def test_ctc_logits_match_transformers_after_inference_folding(tmp_path, stable):
    reference = make_hf_ctc(tmp_path, stable)
    ours = load_hf_folder(tmp_path).model.freeze_for_inference()
    audio = speechlike(1, 40000, seed=1)

    with torch.inference_mode():
        difference = (ours.ctc_logits(audio) - reference(audio).logits).abs().max().item()

    assert difference < TOLERANCE


def test_padded_batch_matches_transformers_attention_mask(tmp_path):
    reference = make_hf_ctc(tmp_path, stable=True)
    ours = load_hf_folder(tmp_path).model.eval()
    lengths = torch.tensor([24000, 15000])
    audio = speechlike(2, 24000)
    audio[1, 15000:] = 0.0
    attention_mask = (torch.arange(24000)[None] < lengths[:, None]).long()

    with torch.no_grad():
        expected = reference(audio, attention_mask=attention_mask).logits
        got = ours.ctc_logits(audio, lengths)

    frames = ours.feature_encoder.output_lengths(lengths)
    for row, valid in enumerate(frames.tolist()):
        assert (got[row, :valid] - expected[row, :valid]).abs().max().item() < TOLERANCE


def test_pytorch_bin_checkpoints_load_like_safetensors(tmp_path):
    reference = make_hf_ctc(tmp_path, stable=False)
    weights = tmp_path / "model.safetensors"
    torch.save(reference.state_dict(), tmp_path / "pytorch_model.bin")
    weights.unlink()
    ours = load_hf_folder(tmp_path).model.eval()
    audio = speechlike(1, 16000)

    with torch.no_grad():
        assert (ours.ctc_logits(audio) - reference(audio).logits).abs().max().item() < TOLERANCE


def test_imported_model_in_the_store_keeps_parity_and_the_feature_extractor_normalisation(tmp_path):
    reference = make_hf_ctc(tmp_path / "hf", stable=False)
    import_model(str(tmp_path / "hf"), "imported")
    loaded = load_model("imported")
    raw = speechlike(1, 20000)[0].numpy() * 5 + 0.2
    extractor = Wav2Vec2FeatureExtractor.from_pretrained(tmp_path / "hf")
    normalised = extractor(raw, sampling_rate=16000, return_tensors="pt").input_values

    from engine.recognizer import Recognizer

    recognizer = Recognizer(loaded, torch.device("cpu"))
    with torch.no_grad():
        expected = reference(normalised).logits.log_softmax(-1)[0].numpy()

    assert loaded.config.normalize_input
    assert np.abs(recognizer.log_probs(raw) - expected).max() < TOLERANCE


@pytest.mark.parametrize("stable", VARIANTS.values(), ids=VARIANTS.keys())
def test_pretraining_targets_and_contrastive_logits_match_transformers(tmp_path, stable):
    reference: Wav2Vec2ForPreTraining = make_hf_pretraining(tmp_path, stable)
    ours = load_hf_folder(tmp_path).model.eval()
    audio = speechlike(2, 32000)
    frames = int(ours.feature_encoder.output_lengths(torch.tensor(32000)))
    config = reference.config
    mask = _compute_mask_indices((2, frames), config.mask_time_prob, config.mask_time_length, min_masks=2)
    negatives = _sample_negative_indices((2, frames), config.num_negatives, mask_time_indices=mask)
    mask_t = torch.from_numpy(mask)
    negatives_t = torch.from_numpy(negatives).long()

    with torch.no_grad():
        out = reference(audio, mask_time_indices=mask_t, sampled_negative_indices=negatives_t)
        encoded = ours(audio, mask=mask_t)
        context, targets, perplexity = ours.pretraining_targets(encoded, mask_t)
        # Hugging Face numbers negatives across the flattened batch; ours index frames of the same utterance.
        per_utterance = negatives_t.view(2, frames, -1) - (torch.arange(2) * frames)[:, None, None]
        got = contrastive_logits(context, targets, per_utterance, config.contrastive_logits_temperature)
        negative_targets = out.projected_quantized_states.reshape(-1, targets.shape[-1])[negatives_t.view(-1)]
        negative_targets = negative_targets.view(2, frames, -1, targets.shape[-1]).permute(2, 0, 1, 3)
        expected = reference.compute_contrastive_logits(out.projected_quantized_states[None],
                                                        negative_targets, out.projected_states,
                                                        config.contrastive_logits_temperature)

    assert (targets - out.projected_quantized_states).abs().max().item() < TOLERANCE
    assert (context - out.projected_states).abs().max().item() < TOLERANCE
    assert perplexity.item() == pytest.approx(out.codevector_perplexity.item(), rel=TOLERANCE)
    expected = expected.permute(1, 2, 0)  # (batch, frames, 1 + K)
    kept = torch.isfinite(got)
    assert (got[kept] - expected[kept]).abs().max().item() < TOLERANCE
    # A distractor identical to the true target is ruled out, as in the reference's loss.
    same = (negative_targets == out.projected_quantized_states[None]).all(-1).permute(1, 2, 0)
    assert torch.equal(~kept[..., 1:], same) and kept[..., 0].all()
    loss = torch.nn.functional.cross_entropy(got[mask_t].float(), torch.zeros(int(mask_t.sum()), dtype=torch.long),
                                             reduction="sum")
    assert loss.item() == pytest.approx(out.contrastive_loss.item(), rel=TOLERANCE)
