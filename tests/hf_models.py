"""Small random Hugging Face wav2vec 2.0 checkpoints, saved the way the Hub lays them out."""

import json
from pathlib import Path

import torch

VOCAB = ["<pad>", "<s>", "</s>", "<unk>", "|", "E", "T", "A", "O", "N", "I", "H", "S", "'"]


def hf_config(stable: bool, **overrides):
    from transformers import Wav2Vec2Config

    values = dict(
        vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=48, conv_dim=(24,) * 7, conv_bias=stable,
        feat_extract_norm="layer" if stable else "group", do_stable_layer_norm=stable,
        num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4, num_codevector_groups=2,
        num_codevectors_per_group=12, codevector_dim=16, proj_codevector_dim=12, pad_token_id=0,
        mask_time_prob=0.3, mask_time_length=2, num_negatives=5,
    )
    values.update(overrides)
    return Wav2Vec2Config(**values)


def perturb(model: torch.nn.Module, seed: int = 0) -> None:
    """Move every parameter off its initial value (norms included), so parity covers all of them."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn(parameter.shape, generator=generator))


def make_hf_ctc(path: Path, stable: bool, seed: int = 0, **overrides):
    """Save a random Wav2Vec2ForCTC with its tokenizer and feature extractor; return the model."""
    from transformers import Wav2Vec2CTCTokenizer, Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC

    torch.manual_seed(seed)
    model = Wav2Vec2ForCTC(hf_config(stable, **overrides)).eval()
    perturb(model, seed)
    model.save_pretrained(path)
    vocab_file = Path(path) / "vocab.json"
    vocab_file.write_text(json.dumps({t: i for i, t in enumerate(VOCAB)}))
    Wav2Vec2CTCTokenizer(str(vocab_file)).save_pretrained(path)
    Wav2Vec2FeatureExtractor(do_normalize=True, return_attention_mask=stable).save_pretrained(path)
    return model


def make_hf_pretraining(path: Path, stable: bool, seed: int = 0):
    from transformers import Wav2Vec2FeatureExtractor, Wav2Vec2ForPreTraining

    torch.manual_seed(seed)
    model = Wav2Vec2ForPreTraining(hf_config(stable)).eval()
    perturb(model, seed)
    model.save_pretrained(path)
    Wav2Vec2FeatureExtractor(do_normalize=True).save_pretrained(path)
    return model
