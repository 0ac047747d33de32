"""Live captions while other programs keep every core busy: spinning vs sleeping OpenMP threads.

    .venv/bin/python benchmarks/streaming_under_load.py [--model NAME|PATH] [--seconds 30]

Runs benchmarks/streaming.py (the incremental recogniser, at the default and the
low-latency hop) in fresh processes, with torch's OpenMP threads spinning while
they wait for work (OMP_WAIT_POLICY=ACTIVE, the runtime's default) and sleeping
(PASSIVE, what `vivavoce caption` and the desktop app choose), first on an idle
CPU and then beside one busy process per core (a stand-in for a video call or a
build). Prints each run's table and, under load, the ratio of the real-time
factors (spinning / sleeping; above 1: sleeping threads keep up better). The
policy must be set before torch loads, hence the separate processes.
"""

import argparse
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

STREAMING = Path(__file__).with_name("streaming.py")
POLICIES = ("ACTIVE", "PASSIVE")


def _spin() -> None:
    while True:
        pass


def run(policy: str, args) -> list[tuple[str, float]]:
    """Prints benchmarks/streaming.py's table; returns (setting, real-time factor) for each row."""
    command = [sys.executable, str(STREAMING), "--designs", "incremental", "--seconds", str(args.seconds)]
    if args.model:
        command += ["--model", args.model]
    env = {**os.environ, "OMP_WAIT_POLICY": policy}
    lines = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout.splitlines()
    rows = [line for line in lines if line.strip().startswith("incremental")]
    for line in lines[1:]:
        print(f"  {line}")
    return [(row.split("(")[1].split(")")[0], float(row.split()[-2])) for row in rows]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a model name or folder (default: a random `small` model)")
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    for policy in POLICIES:
        print(f"idle CPU, OMP_WAIT_POLICY={policy}")
        run(policy, args)
    cores = os.cpu_count() or 1
    hogs = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(cores)]
    for hog in hogs:
        hog.start()
    try:
        loaded = {}
        for policy in POLICIES:
            print(f"{cores} busy processes beside it, OMP_WAIT_POLICY={policy}")
            loaded[policy] = run(policy, args)
    finally:
        for hog in hogs:
            hog.terminate()
    for (setting, spinning), (_, sleeping) in zip(*loaded.values()):
        print(f"under load, {setting}: real-time factor {spinning:.2f} spinning vs {sleeping:.2f} sleeping "
              f"({spinning / sleeping:.1f}x)")


if __name__ == "__main__":
    main()
