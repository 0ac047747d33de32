"""Peak memory of `vivavoce transcribe` on a 1-minute and a 1-hour file, in one run.

    .venv/bin/python benchmarks/long_file_memory.py [--preset small] [--minutes 1 60]

Each transcription runs as its own process (the real command), and its peak
resident set is read from the kernel when it ends. The model is a random one
of the preset's size; its text does not matter, only the memory it takes.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
import torch

from engine.model import Wav2Vec2
from engine.modelfolder import ModelConfig, save_model_folder
from engine.presets import preset
from engine.text import Vocabulary

VIVAVOCE = Path(sys.executable).with_name("vivavoce")
CHILD = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def write_noise(path: Path, minutes: float) -> None:
    rng = np.random.default_rng(0)
    with soundfile.SoundFile(path, "w", 16000, 1, "PCM_16") as f:
        for _ in range(int(minutes)):
            f.write(0.1 * rng.standard_normal(16000 * 60).astype(np.float32))


def peak_rss_mib(*command) -> float:
    out = subprocess.run([sys.executable, "-c", CHILD, *map(str, command)], capture_output=True, text=True,
                         check=True)
    return int(out.stdout) / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--minutes", type=float, nargs="+", default=[1, 60])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        vocab = Vocabulary(tuple(["<pad>", "|"] + list("abcdefghijklmnopqrstuvwxyz'")), blank=0)
        arch = preset(args.preset, quantizer=False, vocab_size=len(vocab))
        folder = save_model_folder(Wav2Vec2(arch), ModelConfig("ctc", arch, vocab, name=args.preset),
                                   tmp / "model", card="# random\n")
        print(f"preset {args.preset}, {torch.get_num_threads()} threads")
        print(f"{'audio':>8} {'peak RSS MiB':>13} {'wall s':>8} {'vs first':>9}")
        first = None
        for minutes in args.minutes:
            audio = tmp / f"{minutes:g}min.wav"
            write_noise(audio, minutes)
            start = time.perf_counter()
            peak = peak_rss_mib(VIVAVOCE, "transcribe", audio, "--model", folder)
            wall = time.perf_counter() - start
            first = first or peak
            print(f"{minutes:6g}min {peak:13.0f} {wall:8.1f} {peak / first:8.2f}x")
            audio.unlink()


if __name__ == "__main__":
    main()
