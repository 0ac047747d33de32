"""The wav2vec 2.0 model: one definition for inference, pretraining and fine-tuning.

Composed in paper order (Baevski et al., 2020):

    waveform -> FeatureEncoder (1-D convolutions, 20 ms per frame)
             -> FeatureProjection (layer norm + linear)
             -> span masking with a learned embedding (pretraining, fine-tuning)
             -> Transformer (convolutional relative positional embedding,
                             post-norm "BASE" or pre-norm "stable layer norm" blocks)
             -> CTC head (fine-tuned models)

and, for pretraining, a GumbelQuantizer over the normalised features that gives
the targets of the contrastive task.

Every size is an `Architecture` (plain numbers, saved in a model folder's
config.json); `Wav2Vec2(arch)` builds the modules with explicit arguments.

Initialisation follows fairseq where it matters for learning (the quantizer's
logits, the positional convolution, Kaiming-normal feature convolutions), but
linear layers keep PyTorch's default: fairseq's N(0, 0.02) suits 768-wide
models and left our small ones on the CTC all-blank plateau three times longer
(measured on the over-fitting test).
"""

import copy
import math
from dataclasses import replace
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .architecture import Architecture


_ACTIVATIONS = {
    "gelu": nn.GELU,
    "gelu_new": lambda: nn.GELU(approximate="tanh"),
    "relu": nn.ReLU,
}


def _activation(name: str) -> nn.Module:
    return _ACTIVATIONS[name]()


class ConvBlock(nn.Module):
    """Conv1d -> optional norm -> activation.

    ``norm`` "group" is GroupNorm with one group per channel (normalises each
    channel over time), "layer" is LayerNorm over channels at each step.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int,
                 bias: bool, norm: str | None, activation: str):
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, kernel, stride=stride, bias=bias)
        nn.init.kaiming_normal_(self.conv.weight)
        if norm == "group":
            self.norm = nn.GroupNorm(out_channels, out_channels)
        elif norm == "layer":
            self.norm = nn.LayerNorm(out_channels)
        else:
            self.norm = None
        self.activation = _activation(activation)

    def forward(self, x: Tensor) -> Tensor:
        """x : shape (batch, in_channels, samples) -> (batch, out_channels, frames)"""
        x = self.conv(x)
        if isinstance(self.norm, nn.LayerNorm):
            x = self.norm(x.transpose(1, 2)).transpose(1, 2)
        elif self.norm is not None:
            x = self.norm(x)
        return self.activation(x)


class FeatureEncoder(nn.Module):
    """The convolutional stack over the raw 16 kHz waveform."""

    def __init__(self, channels: tuple[int, ...], kernels: tuple[int, ...],
                 strides: tuple[int, ...], bias: bool, norm: str, activation: str):
        super().__init__()
        blocks = []
        in_channels = 1
        for i, (out_channels, kernel, stride) in enumerate(zip(channels, kernels, strides)):
            block_norm = norm if (norm == "layer" or i == 0) else None
            blocks.append(ConvBlock(in_channels, out_channels, kernel, stride, bias,
                                    block_norm, activation))
            in_channels = out_channels
        self.blocks = nn.ModuleList(blocks)
        self.kernels = kernels
        self.strides = strides

    def forward(self, waveform: Tensor) -> Tensor:
        """waveform : shape (batch, samples) -> features, shape (batch, frames, channels)"""
        x = waveform[:, None, :]
        for block in self.blocks:
            x = block(x)
        return x.transpose(1, 2)

    def output_lengths(self, lengths: Tensor) -> Tensor:
        """Number of frames produced from ``lengths`` samples (integer tensor)."""
        for kernel, stride in zip(self.kernels, self.strides):
            lengths = torch.div(lengths - kernel, stride, rounding_mode="floor") + 1
        return lengths.clamp(min=0)


class FeatureProjection(nn.Module):
    def __init__(self, in_channels: int, hidden_size: int, eps: float, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(in_channels, eps=eps)
        self.linear = nn.Linear(in_channels, hidden_size)
        self.dropout = nn.Dropout(dropout)

    def forward(self, features: Tensor) -> tuple[Tensor, Tensor]:
        """features : (batch, frames, channels) -> (projected (batch, frames, hidden), normalised features)"""
        normed = self.norm(features)
        return self.dropout(self.linear(normed)), normed


class PositionalConvEmbedding(nn.Module):
    """Relative positions from a wide grouped convolution over time, weight-normalised over the kernel axis."""

    def __init__(self, hidden_size: int, kernel: int, groups: int, activation: str):
        super().__init__()
        conv = nn.Conv1d(hidden_size, hidden_size, kernel, padding=kernel // 2, groups=groups)
        nn.init.normal_(conv.weight, mean=0.0, std=2 * math.sqrt(1 / (kernel * hidden_size)))
        nn.init.zeros_(conv.bias)
        self.conv = nn.utils.parametrizations.weight_norm(conv, name="weight", dim=2)
        # An even kernel with padding kernel // 2 yields one frame too many.
        self.trim = 1 if kernel % 2 == 0 else 0
        self.activation = _activation(activation)

    def forward(self, x: Tensor) -> Tensor:
        """x : (batch, frames, hidden) -> position embedding of the same shape"""
        y = self.conv(x.transpose(1, 2))
        if self.trim:
            y = y[:, :, : -self.trim]
        return self.activation(y).transpose(1, 2)

    def fold_weight_norm(self) -> None:
        """Replace the weight-norm parametrisation by its current value (inference only)."""
        nn.utils.parametrize.remove_parametrizations(self.conv, "weight")


class SelfAttention(nn.Module):
    """Multi-head self-attention with one fused input projection, through SDPA."""

    def __init__(self, hidden_size: int, num_heads: int, dropout: float):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(hidden_size, 3 * hidden_size)
        self.out = nn.Linear(hidden_size, hidden_size)
        self.dropout = dropout

    def forward(self, x: Tensor, key_mask: Tensor | None = None) -> Tensor:
        """x : (batch, frames, hidden); key_mask : bool (batch, 1, 1, frames), True where a frame may be attended."""
        batch, frames, hidden = x.shape
        q, k, v = (self.qkv(x)
                   .view(batch, frames, 3, self.num_heads, hidden // self.num_heads)
                   .permute(2, 0, 3, 1, 4))
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.out(y.transpose(1, 2).reshape(batch, frames, hidden))


class FeedForward(nn.Module):
    def __init__(self, hidden_size: int, ffn_size: int, activation: str,
                 activation_dropout: float, dropout: float):
        super().__init__()
        self.inner = nn.Linear(hidden_size, ffn_size)
        self.activation = _activation(activation)
        self.activation_dropout = nn.Dropout(activation_dropout)
        self.outer = nn.Linear(ffn_size, hidden_size)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.outer(self.activation_dropout(self.activation(self.inner(x)))))


class EncoderLayer(nn.Module):
    """One Transformer block; ``pre_norm`` selects the stable-layer-norm arrangement."""

    def __init__(self, hidden_size: int, num_heads: int, ffn_size: int, pre_norm: bool,
                 eps: float, activation: str, dropout: float, attention_dropout: float,
                 activation_dropout: float):
        super().__init__()
        self.pre_norm = pre_norm
        self.attention = SelfAttention(hidden_size, num_heads, attention_dropout)
        self.attention_norm = nn.LayerNorm(hidden_size, eps=eps)
        self.dropout = nn.Dropout(dropout)
        self.feed_forward = FeedForward(hidden_size, ffn_size, activation, activation_dropout, dropout)
        self.ffn_norm = nn.LayerNorm(hidden_size, eps=eps)

    def forward(self, x: Tensor, key_mask: Tensor | None = None) -> Tensor:
        if self.pre_norm:
            x = x + self.dropout(self.attention(self.attention_norm(x), key_mask))
            return x + self.feed_forward(self.ffn_norm(x))
        x = self.attention_norm(x + self.dropout(self.attention(x, key_mask)))
        return self.ffn_norm(x + self.feed_forward(x))


class Transformer(nn.Module):
    """The context network: positional convolution, then the blocks.

    Post-norm (BASE) normalises after adding positions; pre-norm (LARGE)
    normalises after the last block.
    """

    def __init__(self, pos_conv: PositionalConvEmbedding, layers: list[EncoderLayer],
                 hidden_size: int, pre_norm: bool, eps: float, dropout: float, layerdrop: float):
        super().__init__()
        self.pos_conv = pos_conv
        self.norm = nn.LayerNorm(hidden_size, eps=eps)
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.ModuleList(layers)
        self.pre_norm = pre_norm
        self.layerdrop = layerdrop

    def forward(self, x: Tensor, padding: Tensor | None = None) -> Tensor:
        """x : (batch, frames, hidden); padding : bool (batch, frames), True on padded frames."""
        key_mask = None
        if padding is not None:
            x = x.masked_fill(padding[..., None], 0.0)
            key_mask = ~padding[:, None, None, :]
        x = x + self.pos_conv(x)
        if not self.pre_norm:
            x = self.norm(x)
        x = self.dropout(x)
        for layer in self.layers:
            if self.training and self.layerdrop > 0 and torch.rand(()) < self.layerdrop:
                continue
            x = layer(x, key_mask)
        if self.pre_norm:
            x = self.norm(x)
        return x


class GumbelQuantizer(nn.Module):
    """Product quantisation: G codebooks of V entries, chosen by a straight-through Gumbel softmax.

    In training the choice is a hard Gumbel-softmax sample at ``temperature``
    (gradients flow through the soft probabilities); in evaluation it is the
    arg-max. The codevector is the concatenation of the G chosen entries.
    """

    def __init__(self, in_channels: int, codebooks: int, entries: int, codevector_dim: int):
        super().__init__()
        if codevector_dim % codebooks:
            raise ValueError("codevector_dim must be divisible by the number of codebooks")
        self.codebooks = codebooks
        self.entries = entries
        self.logits = nn.Linear(in_channels, codebooks * entries)
        # Logits large against the Gumbel noise from the start, so that choices
        # depend on the input (fairseq's initialisation).
        nn.init.normal_(self.logits.weight, mean=0.0, std=1.0)
        nn.init.zeros_(self.logits.bias)
        self.codevectors = nn.Parameter(torch.empty(1, codebooks * entries, codevector_dim // codebooks))
        nn.init.uniform_(self.codevectors)
        self.temperature = 2.0

    def forward(self, features: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """features : (batch, frames, channels); mask : bool (batch, frames) of the steps that count.

        Returns the codevectors, shape (batch, frames, codevector_dim), and the
        perplexity of the codebook usage over the counted steps, summed over
        codebooks (G * V when every entry is used equally).
        """
        batch, frames, _ = features.shape
        logits = self.logits(features).view(batch * frames, self.codebooks, self.entries)
        if self.training:
            choice = F.gumbel_softmax(logits.float(), tau=self.temperature, hard=True).type_as(logits)
            usage = logits.float().softmax(dim=-1)
        else:
            choice = F.one_hot(logits.argmax(dim=-1), self.entries).type_as(logits)
            usage = choice
        perplexity = self._perplexity(usage, mask)
        codebook = self.codevectors.view(self.codebooks, self.entries, -1)
        vectors = torch.einsum("ngv,gvd->ngd", choice, codebook.type_as(choice))
        return vectors.reshape(batch, frames, -1), perplexity

    @staticmethod
    def _perplexity(probs: Tensor, mask: Tensor | None) -> Tensor:
        if mask is None:
            marginal = probs.mean(dim=0)
        else:
            weights = mask.reshape(-1, 1, 1).to(probs.dtype)
            marginal = (probs * weights).sum(dim=0) / weights.sum()
        return torch.exp(-torch.xlogy(marginal, marginal).sum(dim=-1)).sum()


class Encoded(NamedTuple):
    """What `Wav2Vec2.forward` returns.

    context : (batch, frames, hidden), the Transformer output
    features : (batch, frames, channels), the feature encoder output (before its layer norm)
    normed_features : the same after the projection's layer norm (the quantizer's input)
    padding : bool (batch, frames), True on padded frames, or None for an unpadded batch
    """

    context: Tensor
    features: Tensor
    normed_features: Tensor
    padding: Tensor | None


class Wav2Vec2(nn.Module):
    def __init__(self, arch: Architecture):
        super().__init__()
        self.arch = arch
        self.feature_encoder = FeatureEncoder(arch.conv_channels, arch.conv_kernels, arch.conv_strides,
                                              arch.conv_bias, arch.feature_norm, arch.activation)
        self.feature_projection = FeatureProjection(arch.conv_channels[-1], arch.hidden_size,
                                                    arch.layer_norm_eps, arch.feature_dropout)
        self.mask_embedding = nn.Parameter(torch.empty(arch.hidden_size).uniform_())
        layers = [EncoderLayer(arch.hidden_size, arch.num_heads, arch.ffn_size, arch.pre_norm,
                               arch.layer_norm_eps, arch.activation, arch.dropout,
                               arch.attention_dropout, arch.activation_dropout)
                  for _ in range(arch.num_layers)]
        pos_conv = PositionalConvEmbedding(arch.hidden_size, arch.pos_conv_kernel,
                                           arch.pos_conv_groups, arch.activation)
        self.transformer = Transformer(pos_conv, layers, arch.hidden_size, arch.pre_norm,
                                       arch.layer_norm_eps, arch.dropout, arch.layerdrop)
        if arch.quantizer:
            self.quantizer_dropout = nn.Dropout(arch.quantizer_input_dropout)
            self.quantizer = GumbelQuantizer(arch.conv_channels[-1], arch.codebooks,
                                             arch.codebook_entries, arch.codevector_dim)
            self.project_context = nn.Linear(arch.hidden_size, arch.projection_dim)
            self.project_targets = nn.Linear(arch.codevector_dim, arch.projection_dim)
        else:
            self.quantizer = None
        if arch.vocab_size:
            self.ctc_dropout = nn.Dropout(arch.final_dropout)
            self.ctc_head = nn.Linear(arch.hidden_size, arch.vocab_size)
        else:
            self.ctc_head = None

    def padding_mask(self, lengths: Tensor | None, frames: int) -> Tensor | None:
        """Bool (batch, frames), True on frames made from padding; None when ``lengths`` is None."""
        if lengths is None:
            return None
        frame_lengths = self.feature_encoder.output_lengths(lengths)
        return torch.arange(frames, device=lengths.device)[None, :] >= frame_lengths[:, None]

    def forward(self, waveform: Tensor, lengths: Tensor | None = None,
                mask: Tensor | None = None, channel_mask: Tensor | None = None) -> Encoded:
        """Encode a batch of waveforms.

        waveform : (batch, samples), 16 kHz, normalised as the model expects
        lengths : (batch,) valid samples per row, or None when no row is padded
        mask : bool (batch, frames), steps replaced by the learned mask embedding
        channel_mask : bool (batch, hidden), channels zeroed at every step (fine-tuning's SpecAugment)
        """
        features = self.feature_encoder(waveform)
        projected, normed = self.feature_projection(features)
        if mask is not None:
            projected = torch.where(mask[..., None], self.mask_embedding.to(projected.dtype), projected)
        if channel_mask is not None:
            projected = projected.masked_fill(channel_mask[:, None, :], 0.0)
        padding = self.padding_mask(lengths, features.shape[1])
        return Encoded(self.transformer(projected, padding), features, normed, padding)

    def ctc_logits(self, waveform: Tensor, lengths: Tensor | None = None,
                   mask: Tensor | None = None) -> Tensor:
        """Unnormalised CTC scores, shape (batch, frames, vocab_size)."""
        if self.ctc_head is None:
            raise ValueError("this model has no CTC head (it is a pretrained-only model)")
        context = self.forward(waveform, lengths, mask).context
        return self.ctc_head(self.ctc_dropout(context))

    def pretraining_targets(self, encoded: Encoded, mask: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
        """Projected context, projected quantized targets and codebook perplexity.

        Returns (context (batch, frames, projection_dim), targets (same shape),
        perplexity (scalar)), the perplexity counted over the ``mask``ed steps.
        """
        if self.quantizer is None:
            raise ValueError("this model has no quantizer (it is a fine-tuned model)")
        quantized, perplexity = self.quantizer(self.quantizer_dropout(encoded.normed_features), mask)
        return self.project_context(encoded.context), self.project_targets(quantized), perplexity

    def freeze_for_inference(self) -> "Wav2Vec2":
        """Evaluation mode with the positional weight norm folded in; the model can no longer be trained."""
        self.eval()
        self.transformer.pos_conv.fold_weight_norm()
        for parameter in self.parameters():
            parameter.requires_grad_(False)
        return self


def contrastive_logits(context: Tensor, targets: Tensor, negatives: Tensor, temperature: float) -> Tensor:
    """Scores of the true target against distractors at every step.

    context, targets : (batch, frames, dim), the projected context and quantized targets
    negatives : long (batch, frames, K), for each step the frames (of the same
        utterance) whose targets serve as distractors
    Returns (batch, frames, 1 + K): cosine similarity / temperature, the true
    target first; a distractor identical to the true target scores -inf.
    """
    batch, frames, dim = targets.shape
    k = negatives.shape[-1]
    distractors = targets.gather(1, negatives.reshape(batch, frames * k, 1).expand(-1, -1, dim))
    distractors = distractors.view(batch, frames, k, dim)
    candidates = torch.cat([targets[:, :, None], distractors], dim=2)
    logits = F.cosine_similarity(context[:, :, None].float(), candidates.float(), dim=-1)
    logits = (logits / temperature).type_as(targets)
    same = (distractors == targets[:, :, None]).all(dim=-1)
    return torch.cat([logits[..., :1], logits[..., 1:].masked_fill(same, float("-inf"))], dim=-1)


def with_heads(model: Wav2Vec2, quantizer: bool, vocab_size: int, dropout: float | None = None,
               keep_head: bool = True) -> Wav2Vec2:
    """The same network with the heads asked for: shared weights copied, heads it lacked made fresh.

    Continuing pretraining from a fine-tuned model adds a quantizer; fine-tuning a
    pretrained model swaps the quantizer for a CTC head of ``vocab_size`` outputs
    (a CTC head of the same size is kept, to adapt a model to a new voice, unless
    ``keep_head`` is false: a new vocabulary, whose symbols mean other things). ``dropout``,
    when given, replaces the Transformer's hidden and attention dropout rates.
    """
    arch = replace(model.arch, quantizer=quantizer, vocab_size=vocab_size)
    if dropout is not None:
        arch = replace(arch, dropout=dropout, attention_dropout=dropout)
    new = Wav2Vec2(arch)
    target = new.state_dict()
    shared = {k: v for k, v in model.state_dict().items() if k in target and v.shape == target[k].shape
              and (keep_head or not k.startswith("ctc_head."))}
    new.load_state_dict(shared, strict=False)
    return new


def deepened(model: Wav2Vec2, extra: int) -> Wav2Vec2:
    """The same network with ``extra`` more Transformer layers that start out doing nothing.

    Each new layer is a copy of an existing one, placed right after it, with the output
    projections of its attention and feed-forward blocks set to zero: in the pre-norm
    arrangement both blocks only add to the residual stream, so the deeper network computes
    exactly what the shallower one did, and training grows the new layers from there (their
    input projections start from features the copied layer already uses). The copies are
    spread evenly over the depth. A post-norm layer normalises its own output, so it cannot
    start as the identity; only pre-norm models can be deepened.
    """
    if not model.arch.pre_norm:
        raise ValueError("only a pre-norm (stable layer norm) model can be given more layers")
    if extra < 1:
        raise ValueError(f"extra layers must be at least 1, not {extra}")
    new = copy.deepcopy(model)
    layers = list(new.transformer.layers)
    twins = [i * len(layers) // extra for i in range(extra)]  # the layers copied, spread evenly
    grown = []
    for index, layer in enumerate(layers):
        grown.append(layer)
        for _ in range(twins.count(index)):
            twin = copy.deepcopy(layer)
            for projection in (twin.attention.out, twin.feed_forward.outer):
                nn.init.zeros_(projection.weight)
                nn.init.zeros_(projection.bias)
            grown.append(twin)
    new.arch = replace(model.arch, num_layers=len(grown))
    new.transformer.layers = nn.ModuleList(grown)
    return new
