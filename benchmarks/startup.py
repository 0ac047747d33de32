"""The desktop app's start-up: time to the window's first paint and to its filled device and model lists.

    .venv/bin/python benchmarks/startup.py [--repeats 3]

Each run is a fresh Python process (offscreen Qt), timed from the interpreter's start. The
reference is the same window in a process that has loaded torch first, as the app did before
listing devices and models stopped needing it. Prints medians and the ratio.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

PROBE = """
import json, time
started = time.perf_counter()
import sys
if sys.argv[1] == "torch":
    import torch, torchaudio  # noqa: F401
from PySide6.QtCore import QEvent, QObject, QTimer
from app.gui import make_application
from app.main_window import MainWindow
from app.settings import Settings
app = make_application()
window = MainWindow(Settings(sys.argv[2]))
marks = {}
class FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint:
            marks.setdefault("paint", time.perf_counter() - started)
        return False
spy = FirstPaint()
window.captions.installEventFilter(spy)
window.show()
def check():
    if window.lists_ready and "paint" in marks:
        marks["lists"] = time.perf_counter() - started
        app.quit()
timer = QTimer()
timer.timeout.connect(check)
timer.start(2)
app.exec()
print(json.dumps(marks))
"""


def run(variant: str, folder: str) -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "VIVAVOCE_DATA_DIR": folder}
    result = subprocess.run([sys.executable, "-c", PROBE, variant, f"{folder}/settings.ini"],
                            capture_output=True, text=True, env=env, timeout=120, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    times = {"vivavoce": [], "torch loaded first": []}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeats):  # alternating, so both see the same machine
            times["vivavoce"].append(run("app", folder))
            times["torch loaded first"].append(run("torch", folder))
    print(f"{'':>20} {'first paint s':>14} {'lists filled s':>15}")
    medians = {}
    for name, runs in times.items():
        medians[name] = {key: statistics.median(run[key] for run in runs) for key in ("paint", "lists")}
        print(f"{name:>20} {medians[name]['paint']:14.2f} {medians[name]['lists']:15.2f}")
    ratio = medians["torch loaded first"]["paint"] / medians["vivavoce"]["paint"]
    print(f"first paint {ratio:.1f}x sooner without torch")


if __name__ == "__main__":
    main()
