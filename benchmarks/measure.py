"""What the benchmarks share: a transformers configuration of our presets, timing and peak memory."""

import ctypes
import time

import torch
from transformers import Wav2Vec2Config

from engine.presets import PRESETS


def hf_config(preset: str, **overrides) -> Wav2Vec2Config:
    """The transformers configuration of one of our presets (dropouts and codebooks included)."""
    arch = PRESETS[preset]
    values = dict(
        hidden_size=arch.hidden_size, num_hidden_layers=arch.num_layers,
        num_attention_heads=arch.num_heads, intermediate_size=arch.ffn_size,
        conv_dim=arch.conv_channels, conv_bias=arch.conv_bias, feat_extract_norm=arch.feature_norm,
        do_stable_layer_norm=arch.pre_norm, num_conv_pos_embeddings=arch.pos_conv_kernel,
        num_conv_pos_embedding_groups=arch.pos_conv_groups, hidden_dropout=arch.dropout,
        attention_dropout=arch.attention_dropout, activation_dropout=arch.activation_dropout,
        feat_proj_dropout=arch.feature_dropout, feat_quantizer_dropout=arch.quantizer_input_dropout,
        layerdrop=arch.layerdrop, num_codevector_groups=arch.codebooks,
        num_codevectors_per_group=arch.codebook_entries, codevector_dim=arch.codevector_dim,
        proj_codevector_dim=arch.projection_dim)
    values.update(overrides)
    return Wav2Vec2Config(**values)


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def peak_mib(run, device: torch.device) -> float:
    """Extra memory at the peak of ``run()``, in MiB: allocated CUDA memory on a GPU; on the CPU, the
    growth of the resident set (its high-water mark reset through /proc/self/clear_refs)."""
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        run()
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - before) / 2**20
    # Hand freed heap back first, or a run reuses pages the other left resident and seems to need none.
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = _rss_kib("VmRSS:")
    run()
    return (_rss_kib("VmHWM:") - before) / 1024


def seconds(run, device: torch.device) -> float:
    """Wall time of one ``run()``, waiting for the GPU to finish."""
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    run()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start
