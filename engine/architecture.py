"""The numbers that define a wav2vec 2.0 network, without torch (reading a model folder's
configuration, listing models, must not load it)."""

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class Architecture:
    """The numbers that define a wav2vec 2.0 network.

    Field names are ours; `engine.hf_import` maps Hugging Face's onto them.
    ``vocab_size`` 0 means no CTC head; ``quantizer`` False means no
    pretraining head (a fine-tuned model does not need one).
    """

    conv_channels: tuple[int, ...] = (512,) * 7
    conv_kernels: tuple[int, ...] = (10, 3, 3, 3, 3, 2, 2)
    conv_strides: tuple[int, ...] = (5, 2, 2, 2, 2, 2, 2)
    conv_bias: bool = False
    feature_norm: str = "group"  # "group": first block only (BASE); "layer": every block (LARGE)
    hidden_size: int = 768
    num_layers: int = 12
    num_heads: int = 12
    ffn_size: int = 3072
    pre_norm: bool = False  # the "stable layer norm" arrangement of LARGE
    pos_conv_kernel: int = 128
    pos_conv_groups: int = 16
    layer_norm_eps: float = 1e-5
    activation: str = "gelu"
    dropout: float = 0.1
    attention_dropout: float = 0.1
    activation_dropout: float = 0.0
    feature_dropout: float = 0.0  # after the feature projection
    quantizer_input_dropout: float = 0.0
    final_dropout: float = 0.0  # before the CTC head
    layerdrop: float = 0.0
    quantizer: bool = True
    codebooks: int = 2  # G
    codebook_entries: int = 320  # V
    codevector_dim: int = 256
    projection_dim: int = 256  # the space where context and targets are compared
    vocab_size: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "Architecture":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown architecture settings: {', '.join(unknown)}")
        values = dict(values)
        for name in ("conv_channels", "conv_kernels", "conv_strides"):
            if name in values:
                values[name] = tuple(values[name])
        return cls(**values)

    @property
    def frame_stride(self) -> int:
        """Samples between consecutive output frames (320 = 20 ms at 16 kHz)."""
        stride = 1
        for s in self.conv_strides:
            stride *= s
        return stride

    @property
    def receptive_field(self) -> int:
        """Samples seen by one output frame (400 = 25 ms at 16 kHz for BASE)."""
        field, jump = 1, 1
        for kernel, stride in zip(self.conv_kernels, self.conv_strides):
            field += (kernel - 1) * jump
            jump *= stride
        return field
