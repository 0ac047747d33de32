"""Reading Hugging Face wav2vec 2.0 folders, without `transformers`.

The layout: config.json (model_type "wav2vec2"), model.safetensors (or a
sharded index, or pytorch_model.bin read with ``weights_only=True``),
vocab.json, tokenizer_config.json / special_tokens_map.json / added_tokens.json,
and preprocessor_config.json (per-utterance normalisation, sample rate).
Both the BASE (post-norm) and the stable-layer-norm variants, CTC and
pretraining-only checkpoints.
"""

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from .errors import ModelError
from .model import Architecture
from .modelfolder import LoadedModel, ModelConfig, build_model, load_weights
from .text import TextRules, Vocabulary

# Hugging Face config key -> our Architecture field.
_CONFIG_KEYS = {
    "conv_dim": "conv_channels",
    "conv_kernel": "conv_kernels",
    "conv_stride": "conv_strides",
    "conv_bias": "conv_bias",
    "feat_extract_norm": "feature_norm",
    "hidden_size": "hidden_size",
    "num_hidden_layers": "num_layers",
    "num_attention_heads": "num_heads",
    "intermediate_size": "ffn_size",
    "do_stable_layer_norm": "pre_norm",
    "num_conv_pos_embeddings": "pos_conv_kernel",
    "num_conv_pos_embedding_groups": "pos_conv_groups",
    "layer_norm_eps": "layer_norm_eps",
    "hidden_act": "activation",
    "hidden_dropout": "dropout",
    "attention_dropout": "attention_dropout",
    "activation_dropout": "activation_dropout",
    "feat_proj_dropout": "feature_dropout",
    "feat_quantizer_dropout": "quantizer_input_dropout",
    "final_dropout": "final_dropout",
    "layerdrop": "layerdrop",
    "num_codevector_groups": "codebooks",
    "num_codevectors_per_group": "codebook_entries",
    "codevector_dim": "codevector_dim",
    "proj_codevector_dim": "projection_dim",
}

# Hugging Face tensor name prefix -> ours (after removing "wav2vec2.").
_RENAMES = [
    ("feature_extractor.conv_layers.", "feature_encoder.blocks."),
    ("feature_projection.layer_norm.", "feature_projection.norm."),
    ("feature_projection.projection.", "feature_projection.linear."),
    ("masked_spec_embed", "mask_embedding"),
    ("encoder.pos_conv_embed.conv.", "transformer.pos_conv.conv."),
    ("encoder.layer_norm.", "transformer.norm."),
    ("encoder.layers.", "transformer.layers."),
    ("quantizer.weight_proj.", "quantizer.logits."),
    ("project_hid.", "project_context."),
    ("project_q.", "project_targets."),
    ("lm_head.", "ctc_head."),
]
_LAYER_RENAMES = [
    (".layer_norm.", ".attention_norm."),
    (".final_layer_norm.", ".ffn_norm."),
    (".feed_forward.intermediate_dense.", ".feed_forward.inner."),
    (".feed_forward.output_dense.", ".feed_forward.outer."),
    (".attention.out_proj.", ".attention.out."),
]
_WEIGHT_NORM = {".weight_g": ".parametrizations.weight.original0",
                ".weight_v": ".parametrizations.weight.original1"}


def is_hf_folder(path: Path) -> bool:
    """True when ``path`` holds a Hugging Face wav2vec 2.0 config.json."""
    try:
        config = json.loads((Path(path) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and config.get("model_type") == "wav2vec2"


def _read_json(path: Path, required: bool = False) -> dict:
    if not path.is_file():
        if required:
            raise ModelError(f"{path.parent}: {path.name} is missing")
        return {}
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ModelError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(values, dict):
        raise ModelError(f"{path}: expected a JSON object")
    return values


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """The checkpoint's tensors: safetensors (single or sharded) first, else pytorch_model.bin."""
    single, index = path / "model.safetensors", path / "model.safetensors.index.json"
    try:
        if single.is_file():
            return load_file(single)
        if index.is_file():
            shards = sorted(set(_read_json(index).get("weight_map", {}).values()))
            state = {}
            for shard in shards:
                state.update(load_file(path / shard))
            return state
        legacy = path / "pytorch_model.bin"
        if legacy.is_file():
            state = torch.load(legacy, map_location="cpu", weights_only=True)
            if not isinstance(state, dict):
                raise ModelError(f"{legacy}: does not hold a dictionary of tensors")
            return state
    except (SafetensorError, OSError, RuntimeError, EOFError) as error:
        raise ModelError(f"{path}: the weights cannot be read ({str(error).splitlines()[0]})") from None
    raise ModelError(f"{path}: no weights (model.safetensors or pytorch_model.bin) found")


def convert_state(state: dict[str, torch.Tensor], num_layers: int) -> dict[str, torch.Tensor]:
    """Rename Hugging Face tensors to ours and fuse each layer's q/k/v projections."""
    out = {}
    for name, tensor in state.items():
        name = name.removeprefix("wav2vec2.")
        for old, new in _RENAMES:
            if name.startswith(old):
                name = new + name[len(old):]
                break
        if name.startswith("transformer.layers."):
            for old, new in _LAYER_RENAMES:
                name = name.replace(old, new)
        elif name.startswith("feature_encoder.blocks."):
            name = name.replace(".layer_norm.", ".norm.")
        for old, new in _WEIGHT_NORM.items():
            if name.endswith(old):
                name = name[: -len(old)] + new
        out[name] = tensor
    for i in range(num_layers):
        prefix = f"transformer.layers.{i}.attention."
        for kind in ("weight", "bias"):
            parts = [out.pop(f"{prefix}{p}_proj.{kind}", None) for p in "qkv"]
            if all(p is not None for p in parts):
                out[f"{prefix}qkv.{kind}"] = torch.cat(parts, dim=0)
            elif any(p is not None for p in parts):
                raise ModelError(f"layer {i} has only some of its attention projections")
    return out


def _architecture(config: dict, state: dict[str, torch.Tensor], origin: Path) -> Architecture:
    if config.get("add_adapter"):
        raise ModelError(f"{origin}: models with an output adapter (add_adapter) are not supported")
    if config.get("adapter_attn_dim") is not None:
        raise ModelError(f"{origin}: models with attention adapters (adapter_attn_dim) are not supported")
    activation = config.get("hidden_act", "gelu")
    if config.get("feat_extract_activation", activation) != activation:
        raise ModelError(f"{origin}: different activations in the feature encoder and the Transformer "
                         "are not supported")
    values = {ours: config[theirs] for theirs, ours in _CONFIG_KEYS.items() if theirs in config}
    if values.get("activation", "gelu") not in ("gelu", "gelu_new", "relu"):
        raise ModelError(f"{origin}: activation {values['activation']!r} is not supported")
    if values.get("feature_norm", "group") not in ("group", "layer"):
        raise ModelError(f"{origin}: feat_extract_norm must be 'group' or 'layer'")
    has_ctc = any(k.startswith("lm_head.") for k in state)
    values["quantizer"] = any(k.startswith("quantizer.") for k in state)
    values["vocab_size"] = state["lm_head.weight"].shape[0] if has_ctc else 0
    try:
        return Architecture.from_dict(values)
    except (TypeError, ValueError) as error:
        raise ModelError(f"{origin}/config.json: {error}") from None


def _vocabulary(path: Path, config: dict) -> tuple[Vocabulary, TextRules]:
    vocab = _read_json(path / "vocab.json", required=True)
    tokenizer = _read_json(path / "tokenizer_config.json")
    special_map = _read_json(path / "special_tokens_map.json")
    vocab.update(_read_json(path / "added_tokens.json"))
    if vocab and all(isinstance(v, dict) for v in vocab.values()):
        # Multilingual tokenizers nest one vocabulary per language; take the configured one.
        language = tokenizer.get("target_lang")
        if language not in vocab:
            raise ModelError(f"{path}/vocab.json: holds several languages; none is chosen by target_lang")
        vocab = vocab[language]
    by_index = sorted((int(i), token) for token, i in vocab.items())
    if [i for i, _ in by_index] != list(range(len(by_index))):
        raise ModelError(f"{path}/vocab.json: token ids are not 0..{len(by_index) - 1}")
    tokens = tuple(token for _, token in by_index)

    def token_setting(name: str, default: str | None) -> str | None:
        value = tokenizer.get(name, special_map.get(name, default))
        return value.get("content") if isinstance(value, dict) else value

    pad = token_setting("pad_token", "<pad>")
    blank = config.get("pad_token_id")
    if blank is None:
        if pad not in tokens:
            raise ModelError(f"{path}: the blank (pad) token {pad!r} is not in vocab.json")
        blank = tokens.index(pad)
    delimiter = token_setting("word_delimiter_token", "|")
    special = {token_setting(name, None) for name in ("bos_token", "eos_token", "unk_token", "pad_token")}
    special.discard(None)
    if tokenizer.get("tokenizer_class") == "Wav2Vec2PhonemeCTCTokenizer":
        # A phoneme model (such as facebook/wav2vec2-lv-60-espeak-cv-ft): its tokens are espeak-ng
        # phonemes, written with spaces between them, and it usually has no word delimiter.
        try:
            return (Vocabulary(tokens, int(blank), delimiter if delimiter in tokens else None, frozenset(special),
                               phonemes=True), TextRules("keep", strip_punctuation=False))
        except ValueError as error:
            raise ModelError(f"{path}/vocab.json: {error}") from None
    if tokenizer.get("do_lower_case"):
        case = "lower"
    else:
        letters = "".join(t for t in tokens if t not in special and t.isalpha())
        case = "upper" if letters and letters == letters.upper() else (
            "lower" if letters and letters == letters.lower() else "keep")
    try:
        return Vocabulary(tokens, int(blank), delimiter, frozenset(special)), TextRules(case)
    except ValueError as error:
        raise ModelError(f"{path}/vocab.json: {error}") from None


def load_hf_folder(path: Path) -> LoadedModel:
    """Read a Hugging Face wav2vec 2.0 folder into a model with its configuration."""
    path = Path(path)
    config = _read_json(path / "config.json", required=True)
    if config.get("model_type") != "wav2vec2":
        raise ModelError(f"{path}/config.json: model_type is {config.get('model_type')!r}, not 'wav2vec2'")
    hf_state = read_weights(path)
    arch = _architecture(config, hf_state, path)
    preprocessor = _read_json(path / "preprocessor_config.json")
    rate = preprocessor.get("sampling_rate", 16000)
    if rate != 16000:
        raise ModelError(f"{path}/preprocessor_config.json: sampling_rate {rate} Hz is not supported "
                         "(wav2vec 2.0 models take 16000 Hz)")
    vocabulary, text = (None, TextRules())
    kind = "pretrained"
    if arch.vocab_size:
        vocabulary, text = _vocabulary(path, config)
        kind = "phoneme" if vocabulary.phonemes else "ctc"
    model_config = ModelConfig(
        kind=kind, architecture=arch, vocabulary=vocabulary, text=text,
        language=str(config.get("language", "") or ""),
        normalize_input=bool(preprocessor.get("do_normalize", True)),
        name=path.name, source=str(path.resolve()),
    )
    model = build_model(model_config, str(path))
    state = convert_state(hf_state, arch.num_layers)
    if "mask_embedding" not in state:  # only used in training; absent when masking was off
        state["mask_embedding"] = model.mask_embedding.detach().clone()
    load_weights(model, state, str(path))
    return LoadedModel(model_config, model, path)
