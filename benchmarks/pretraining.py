"""Pretraining: this engine vs `transformers` Wav2Vec2ForPreTraining on the same weights, in one process.

    .venv/bin/python benchmarks/pretraining.py [--device cpu|cuda] [--preset small] [--batch 4] [--seconds 4]

Builds a random Hugging Face pretraining model of the preset's size (dropout
and layer drop as the preset sets them), saves it, imports it with Vivavoce's
importer, and times training steps of each on the same batch with the same
span masks and distractors (the paper's settings: spans of 10 started at 6.5%
of the steps, 100 distractors): forward, loss, backward and an AdamW update,
in train mode. Steps of the two alternate, after a warm-up step each; the
median is reported as audio seconds trained per second. Peak memory is the
growth of the process's resident set during one step (CPU; the high-water mark
is reset through /proc/self/clear_refs, after freed heap is handed back) or of allocated CUDA memory (GPU).
float32 on the CPU; bf16 autocast over float32 weights on a GPU, for both.
Ours runs without the feature penalty, so both compute the same loss.
"""

import argparse
import contextlib
import statistics
import tempfile

import torch
from transformers import Wav2Vec2ForPreTraining

from engine.device import resolve_device
from engine.hf_import import load_hf_folder
from engine.presets import PRESETS
from measure import hf_config, peak_mib, seconds
from training.objective import pretraining_loss, sample_negatives, span_mask

# Device -> (preset, utterances per batch, seconds per utterance) unless given.
DEFAULTS = {"cpu": ("small", 4, 4.0), "cuda": ("base", 8, 15.0)}
MASK_PROB, MASK_SPAN, NEGATIVES = 0.65, 10, 100


def trainer(model, loss_of, device: torch.device):
    """One training step as a function of (audio, mask, negatives): zero grads, loss, backward, AdamW."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda"
                else contextlib.nullcontext())

    def step(audio, mask, negatives):
        optimizer.zero_grad(set_to_none=True)
        with autocast:
            loss = loss_of(audio, mask, negatives)
        loss.backward()
        optimizer.step()

    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--preset", choices=sorted(PRESETS), help="default: small on the CPU, base on a GPU")
    parser.add_argument("--batch", type=int, help="utterances per step (default: 4 on the CPU, 8 on a GPU)")
    parser.add_argument("--seconds", type=float, help="seconds per utterance (default: 4 on the CPU, 15 on a GPU)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps of each, after one warm-up")
    args = parser.parse_args()

    device = resolve_device(args.device)
    preset, batch, duration = DEFAULTS[device.type]
    preset, batch, duration = args.preset or preset, args.batch or batch, args.seconds or duration
    torch.manual_seed(0)
    reference = Wav2Vec2ForPreTraining(hf_config(preset, num_negatives=NEGATIVES))
    with tempfile.TemporaryDirectory() as folder:
        reference.save_pretrained(folder)
        ours = load_hf_folder(folder).model
    reference.to(device).train()
    ours.to(device).train()

    samples = int(duration * 16000)
    frames = int(ours.feature_encoder.output_lengths(torch.tensor(samples)))
    generator = torch.Generator().manual_seed(0)
    audio = torch.randn(batch, samples, generator=generator).to(device)
    batches = []  # one mask and set of distractors per step, the same for both
    for _ in range(args.steps + 2):
        mask = span_mask((batch, frames), MASK_PROB, MASK_SPAN, generator=generator)
        negatives = sample_negatives(mask, NEGATIVES, generator)
        flat_negatives = negatives + (torch.arange(batch) * frames)[:, None, None]
        batches.append((mask.to(device), negatives.to(device), flat_negatives.to(device)))

    ours_step = trainer(ours, lambda a, m, n: pretraining_loss(ours, a, None, m, n,
                                                               feature_penalty_weight=0.0).total, device)
    theirs_step = trainer(reference, lambda a, m, n: reference(a, mask_time_indices=m,
                                                               sampled_negative_indices=n).loss, device)
    ours_s, theirs_s = [], []
    for mask, negatives, flat_negatives in batches[:-1]:
        ours_s.append(seconds(lambda: ours_step(audio, mask, negatives), device))
        theirs_s.append(seconds(lambda: theirs_step(audio, mask, flat_negatives), device))
    mask, negatives, flat_negatives = batches[-1]
    ours_mib = peak_mib(lambda: ours_step(audio, mask, negatives), device)
    theirs_mib = peak_mib(lambda: theirs_step(audio, mask, flat_negatives), device)

    audio_seconds = batch * duration
    ours_rate = audio_seconds / statistics.median(ours_s[1:])
    theirs_rate = audio_seconds / statistics.median(theirs_s[1:])
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    precision = "bf16 autocast" if device.type == "cuda" else "float32"
    print(f"pretraining, preset {preset}, {batch} x {duration:g} s, {name}, {precision}, "
          f"{torch.get_num_threads()} threads, transformers attention: {reference.config._attn_implementation}")
    print(f"{'':>13} {'audio-s/s':>10} {'step s':>8} {'peak MiB':>9}")
    print(f"{'transformers':>13} {theirs_rate:10.1f} {audio_seconds / theirs_rate:8.2f} {theirs_mib:9.0f}")
    print(f"{'vivavoce':>13} {ours_rate:10.1f} {audio_seconds / ours_rate:8.2f} {ours_mib:9.0f}")
    print(f"{'ratio':>13} {ours_rate / theirs_rate:9.2f}x {'':>8} {ours_mib / theirs_mib:8.2f}x")


if __name__ == "__main__":
    main()
