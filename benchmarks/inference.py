"""Offline inference: this engine vs `transformers` Wav2Vec2ForCTC on the same weights, in one process.

    .venv/bin/python benchmarks/inference.py [--preset base] [--seconds 10 60] [--device auto]

Builds a random Hugging Face model of the preset's size, saves it, imports it
with Vivavoce's importer, and times one forward pass of each (median of
several, the two timed in turn) on the same audio, checking that the outputs agree. Peak memory is
the growth of the process's resident set during the pass (CPU; the high-water
mark is reset through /proc/self/clear_refs) or of allocated CUDA memory (GPU).
float32 on the CPU, float16 on a GPU, for both.
"""

import argparse
import statistics
import tempfile

import torch
from transformers import Wav2Vec2ForCTC

from engine.device import inference_dtype, resolve_device
from engine.hf_import import load_hf_folder
from engine.presets import PRESETS
from measure import hf_config, peak_mib, seconds


def median_seconds(runs: list, device: torch.device, repeats: int) -> list[float]:
    """The median time of each of ``runs``, timed in turn so that background load hits all alike."""
    for run in runs:
        run()  # warm-up
    times = [[seconds(run, device) for run in runs] for _ in range(repeats)]
    return [statistics.median(column) for column in zip(*times)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="base", choices=sorted(PRESETS))
    parser.add_argument("--seconds", type=float, nargs="+", default=[10.0, 60.0])
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    device = resolve_device(args.device)
    dtype = inference_dtype(device)
    torch.manual_seed(0)
    reference = Wav2Vec2ForCTC(hf_config(args.preset, vocab_size=32)).eval()
    with tempfile.TemporaryDirectory() as folder:
        reference.save_pretrained(folder)
        with open(f"{folder}/vocab.json", "w") as f:
            f.write("{" + ", ".join(f'"t{i}": {i}' for i in range(32)) + "}")
        ours = load_hf_folder(folder).model.freeze_for_inference()
    reference.to(device, dtype)
    ours.to(device, dtype)

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"preset {args.preset}, {name}, {dtype}, {torch.get_num_threads()} threads, "
          f"transformers attention: {reference.config._attn_implementation}")
    print(f"{'audio':>7} {'transformers':>13} {'vivavoce':>9} {'speed-up':>9} "
          f"{'peak MiB (tf)':>14} {'peak MiB (ours)':>16} {'max |diff|':>11}")
    for duration in args.seconds:
        audio = torch.randn(1, int(duration * 16000), device=device, dtype=dtype)
        repeats = args.repeats if duration <= 20 else max(3, args.repeats // 2)
        with torch.inference_mode():
            difference = (reference(audio).logits.float() - ours.ctc_logits(audio).float()).abs().max().item()
            theirs_s, ours_s = median_seconds([lambda: reference(audio), lambda: ours.ctc_logits(audio)],
                                              device, repeats)
            theirs_mib = peak_mib(lambda: reference(audio), device)
            ours_mib = peak_mib(lambda: ours.ctc_logits(audio), device)
        print(f"{duration:6.0f}s {theirs_s:12.3f}s {ours_s:8.3f}s {theirs_s / ours_s:8.2f}x "
              f"{theirs_mib:14.0f} {ours_mib:16.0f} {difference:11.1e}")


if __name__ == "__main__":
    main()
