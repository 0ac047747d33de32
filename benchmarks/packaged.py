"""The packaged app against the installed command: start-up, transcription and size.

    bash packaging/build.sh                      # dist/vivavoce/ and its archive
    .venv/bin/python benchmarks/packaged.py [--app dist/vivavoce/vivavoce] [--repeats 5]

Both run as a user runs them, each a fresh process timed from outside: `vivavoce --version`
(the program starting, before any model), and `vivavoce transcribe` of 14 s of espeak-ng speech
with the bundled model (loading torch, the model and its language model, then recognising). The
runs alternate, so both see the same machine. Prints medians, their ratios, and whether the two
transcripts are the same, then the folder's size and the archive's next to it.
"""

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTALLED = ROOT / ".venv" / "bin" / "vivavoce"
TEXT = ("a power failure temporarily darkened the town. a star tops the christmas tree. "
        "the early bird catches the worm, and the second mouse gets the cheese. "
        "she sells sea shells by the sea shore, and the shells she sells are surely sea shells.")


def timed(command: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=True, timeout=600)
    return time.perf_counter() - started, result.stdout


def seconds_of(path: Path) -> float:
    import soundfile

    return soundfile.info(str(path)).duration


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) if path.is_dir() \
        else path.stat().st_size


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", type=Path, default=ROOT / "dist" / "vivavoce" / "vivavoce",
                        help="the packaged app's executable (default: dist/vivavoce/vivavoce)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if not args.app.is_file():
        parser.error(f"{args.app}: no packaged app there; build it with bash packaging/build.sh")
    programs = {"packaged": str(args.app), "installed": str(INSTALLED)}
    with tempfile.TemporaryDirectory() as folder:
        os.environ["VIVAVOCE_DATA_DIR"] = folder  # no models of the user's: the bundled one for both
        speech = Path(folder) / "speech.wav"
        subprocess.run(["espeak-ng", "-s", "150", "-w", str(speech), TEXT], check=True)
        times = {(name, task): [] for name in programs for task in ("start", "transcribe")}
        texts = {}
        duration = seconds_of(speech)
        for _ in range(args.repeats):
            for name, program in programs.items():
                times[name, "start"].append(timed([program, "--version"])[0])
                seconds, texts[name] = timed([program, "transcribe", str(speech)])
                times[name, "transcribe"].append(seconds)
    medians = {key: statistics.median(values) for key, values in times.items()}
    print(f"{'':>10} {'--version s':>12} {'transcribe, s':>14}   ({duration:.1f} s of speech)")
    for name in programs:
        print(f"{name:>10} {medians[name, 'start']:12.2f} {medians[name, 'transcribe']:14.2f}")
    for task in ("start", "transcribe"):
        print(f"{task}: packaged / installed = {medians['packaged', task] / medians['installed', task]:.2f}")
    print("same transcript:", texts["packaged"] == texts["installed"])
    folder = args.app.parent
    print(f"folder {folder}: {size(folder) / 2**30:.2f} GiB")
    for archive in sorted(folder.parent.glob("vivavoce-*.tar.gz")):
        print(f"archive {archive.name}: {size(archive) / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
