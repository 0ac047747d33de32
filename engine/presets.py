"""Model sizes, as data.

``base`` and ``large`` are the sizes of the released wav2vec 2.0 checkpoints
(the paper's table gives BASE 8 heads, but the released BASE models, and
therefore every model a user imports, use 12). The small sizes are ours: they
keep the paper's feature encoder strides and kernels (20 ms frames) so that a
model of any size fits the same streaming and decoding code.
"""

from .model import Architecture

PRESETS: dict[str, Architecture] = {
    "base": Architecture(),
    "large": Architecture(
        conv_bias=True, feature_norm="layer", hidden_size=1024, num_layers=24, num_heads=16,
        ffn_size=4096, pre_norm=True, codevector_dim=768, projection_dim=768,
    ),
    "small": Architecture(
        conv_channels=(256,) * 7, hidden_size=384, num_layers=8, num_heads=6, ffn_size=1536,
        codevector_dim=256, projection_dim=256,
    ),
    # The bundled default model: 5 M parameters, a narrow feature encoder (the convolutions
    # dominate a small model's cost). Its first convolution is group-normed (over time, as in
    # BASE; streaming uses running statistics for it): with a layer norm at every frame, which
    # throws away the loudness of each 0.6 ms window, the loss from scratch was still 2.98
    # nats/character after 600 updates against 2.78 with the group norm, and each update took
    # 20% longer (measured, 2-core CPU). Pre-norm ("stable layer norm") Transformer: the
    # post-norm arrangement collapsed to a constant output when trained from little
    # pretraining at a learning rate of 8e-4 (measured).
    "compact": Architecture(
        conv_channels=(96,) * 7, feature_norm="group", hidden_size=256, num_layers=6, num_heads=4,
        ffn_size=1024, pos_conv_kernel=64, pre_norm=True, codebook_entries=128, codevector_dim=128,
        projection_dim=128,
    ),
    "tiny": Architecture(
        conv_channels=(128,) * 7, hidden_size=192, num_layers=4, num_heads=4, ffn_size=768,
        pos_conv_kernel=64, codebook_entries=128, codevector_dim=128, projection_dim=128,
    ),
    # For unit tests: every part present, a few thousand parameters.
    "test": Architecture(
        conv_channels=(32,) * 7, hidden_size=32, num_layers=2, num_heads=2, ffn_size=64,
        pos_conv_kernel=16, pos_conv_groups=4, codebook_entries=16, codevector_dim=32,
        projection_dim=16,
    ),
}


def preset(name: str, **overrides) -> Architecture:
    """The named architecture, with fields replaced by ``overrides`` (e.g. ``vocab_size=32``)."""
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return Architecture.from_dict({**PRESETS[name].to_dict(), **overrides})
