"""engine.model: the wav2vec 2.0 network, at test size."""

import pytest
import torch

from engine.model import Wav2Vec2, deepened, with_heads
from engine.presets import PRESETS, preset


def model(**overrides) -> Wav2Vec2:
    torch.manual_seed(0)
    return Wav2Vec2(preset("test", vocab_size=10, **overrides)).eval()


def test_one_frame_per_20_ms_after_a_25_ms_receptive_field():
    net = model()
    arch = net.arch
    assert (arch.frame_stride, arch.receptive_field) == (320, 400)
    for samples in (400, 401, 719, 720, 16000, 16001):
        frames = net(torch.randn(1, samples)).context.shape[1]
        assert frames == (samples - 400) // 320 + 1
        assert int(net.feature_encoder.output_lengths(torch.tensor(samples))) == frames


def test_padding_does_not_change_the_unpadded_rows_of_a_layer_norm_model():
    # Group-norm (BASE) models normalise each channel over the whole padded row, in
    # fairseq and transformers alike, so only layer-norm models are padding-invariant.
    net = model(pre_norm=True, feature_norm="layer")
    short = torch.randn(1, 9000)
    batch = torch.cat([torch.nn.functional.pad(short, (0, 7000)), torch.randn(1, 16000)])

    with torch.no_grad():
        alone = net.ctc_logits(short)
        padded = net.ctc_logits(batch, torch.tensor([9000, 16000]))

    assert (padded[0, : alone.shape[1]] - alone[0]).abs().max() < 1e-5


def test_mask_embedding_replaces_exactly_the_masked_steps():
    net = model()
    audio = torch.randn(1, 16000)
    frames = net(audio).context.shape[1]
    mask = torch.zeros(1, frames, dtype=torch.bool)
    mask[0, 10:15] = True

    projected, _ = net.feature_projection(net.feature_encoder(audio))
    masked = torch.where(mask[..., None], net.mask_embedding, projected)
    with torch.no_grad():
        expected = net.transformer(masked)
        got = net(audio, mask=mask).context
        unmasked = net(audio).context

    assert torch.allclose(got, expected)
    assert not torch.allclose(got, unmasked)


def test_quantizer_is_a_hard_choice_with_straight_through_gradients():
    net = model().train()
    features = torch.randn(2, 30, net.arch.conv_channels[-1], requires_grad=True)

    vectors, perplexity = net.quantizer(features)
    vectors.sum().backward()

    codebook = net.quantizer.codevectors.view(net.arch.codebooks, net.arch.codebook_entries, -1)
    first_group = vectors[..., : codebook.shape[-1]].reshape(-1, codebook.shape[-1])
    assert all((codebook[0] == row).all(-1).any() for row in first_group)  # each is a codebook entry
    assert features.grad is not None and features.grad.abs().sum() > 0
    assert 1.0 <= perplexity.item() <= net.arch.codebooks * net.arch.codebook_entries


def test_quantizer_temperature_scales_the_straight_through_gradient():
    net = model().train()
    features = torch.randn(1, 50, net.arch.conv_channels[-1])
    gradients = {}
    for temperature in (2.0, 0.5):
        torch.manual_seed(1)  # the same Gumbel noise, so the same hard choices
        net.quantizer.temperature = temperature
        x = features.clone().requires_grad_()
        vectors, _ = net.quantizer(x)
        vectors.pow(2).sum().backward()
        gradients[temperature] = x.grad.norm().item()
    assert gradients[0.5] > gradients[2.0] > 0


def test_freezing_for_inference_keeps_the_outputs():
    net = model()
    audio = torch.randn(1, 12000)
    with torch.no_grad():
        before = net.ctc_logits(audio)
    net.freeze_for_inference()
    with torch.inference_mode():
        after = net.ctc_logits(audio)
    assert torch.allclose(before, after, atol=1e-6)
    assert not any(p.requires_grad for p in net.parameters())


def test_training_mode_applies_dropout_and_evaluation_does_not():
    net = model(dropout=0.5)
    audio = torch.randn(1, 8000)
    with torch.no_grad():
        assert torch.equal(net.ctc_logits(audio), net.ctc_logits(audio))
        net.train()
        assert not torch.equal(net.ctc_logits(audio), net.ctc_logits(audio))


@pytest.mark.parametrize("name", ["base", "large"])
def test_paper_presets_have_the_published_sizes(name):
    arch = PRESETS[name]
    expected = {"base": (12, 768, 12, 3072), "large": (24, 1024, 16, 4096)}[name]
    assert (arch.num_layers, arch.hidden_size, arch.num_heads, arch.ffn_size) == expected
    with torch.device("meta"):
        parameters = sum(p.numel() for p in Wav2Vec2(arch).parameters())
    # The published counts: BASE 95 M, LARGE 317 M (with the quantizer and projections).
    assert parameters / 1e6 == pytest.approx({"base": 95.0, "large": 317.4}[name], rel=0.02)


def test_models_without_heads_refuse_what_they_cannot_do():
    net = Wav2Vec2(preset("test", quantizer=False))
    with pytest.raises(ValueError, match="no CTC head"):
        net.ctc_logits(torch.randn(1, 8000))
    with pytest.raises(ValueError, match="no quantizer"):
        net.pretraining_targets(net(torch.randn(1, 8000)), None)


def test_fine_tuning_heads_keep_the_weights_and_can_change_the_dropout():
    pretrained = model(quantizer=True)
    tuned = with_heads(pretrained, quantizer=False, vocab_size=30, dropout=0.0)
    assert tuned.arch.dropout == tuned.arch.attention_dropout == 0.0 and tuned.arch.vocab_size == 30
    assert not any(isinstance(m, torch.nn.Dropout) and m.p > 0 for m in tuned.modules())
    kept = with_heads(pretrained, quantizer=False, vocab_size=30)
    assert kept.arch.dropout == pretrained.arch.dropout
    shared = tuned.state_dict()
    for name, value in pretrained.state_dict().items():
        if name in shared and not name.startswith("ctc_head"):  # the head is new: 30 letters, not 10
            assert torch.equal(shared[name], value), name
    x = torch.randn(1, 8000)
    tuned.eval()
    kept.load_state_dict(tuned.state_dict())
    kept.eval()
    assert torch.equal(tuned(x).context, kept(x).context)  # dropout changes training only


def test_a_deepened_model_computes_exactly_what_it_did_and_its_new_layers_can_learn():
    net = model(pre_norm=True, num_layers=3, dropout=0.0, attention_dropout=0.0)
    deeper = deepened(net, 4).eval()
    x = torch.randn(2, 12000)

    assert deeper.arch.num_layers == len(deeper.transformer.layers) == 7
    with torch.no_grad():
        assert torch.equal(deeper.ctc_logits(x), net.ctc_logits(x))
    # Spread evenly: old layer 0 gets two copies, 1 and 2 one each, each right after its original.
    old, new = net.transformer.layers, deeper.transformer.layers
    copied = [0, 0, 0, 1, 1, 2, 2]
    zeroed = [False, True, True, False, True, False, True]
    for layer, source, zero in zip(new, copied, zeroed):
        assert torch.equal(layer.attention.qkv.weight, old[source].attention.qkv.weight)
        assert torch.equal(layer.feed_forward.inner.weight, old[source].feed_forward.inner.weight)
        outputs = (layer.attention.out.weight, layer.feed_forward.outer.weight)
        assert all(bool((w == 0).all()) == zero for w in outputs)
    # The original is untouched, and the zeroed projections get gradients: training grows them.
    assert not any((layer.attention.out.weight == 0).all() for layer in old)
    deeper.train()
    deeper.ctc_logits(x).logsumexp(-1).sum().backward()
    for layer, zero in zip(new, zeroed):
        if zero:
            assert layer.attention.out.weight.grad.abs().sum() > 0
            assert layer.feed_forward.outer.weight.grad.abs().sum() > 0


def test_only_pre_norm_models_can_be_deepened():
    with pytest.raises(ValueError, match="pre-norm"):
        deepened(model(pre_norm=False), 1)
    with pytest.raises(ValueError, match="at least 1"):
        deepened(model(pre_norm=True), 0)
