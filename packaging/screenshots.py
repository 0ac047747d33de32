"""The README's screenshots: the main window captioning speech, and the overlay over another window.

Needs a real X server (Xvfb will do) and flite or espeak-ng for the speech:

    xvfb-run -s "-screen 0 1600x900x24" .venv/bin/python packaging/screenshots.py [--model NAME]

It captions the speech with the model, at the pace of real time, exactly as a
user would see it, and writes packaging/screenshots/{main-window,overlay}.png.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SPEECH = ("Good morning everyone. Thank you for joining the planning call. "
          "The new release goes out on Friday, so please finish your reviews by Thursday evening. "
          "After that we will talk about the training data for next month.")


def speak(folder: Path) -> Path:
    path = folder / "speech.wav"
    if shutil.which("flite"):
        subprocess.run(["flite", "-voice", "slt", "-t", SPEECH, "-o", str(path)], check=True)
    else:
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), SPEECH], check=True)
    return path


def wait(app, seconds: float, until=lambda: False) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end and not until():
        app.processEvents()
        time.sleep(0.02)


def meeting_window():
    """A stand-in for a video call: four participant tiles."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

    window = QWidget()
    window.setWindowTitle("Weekly planning call")
    window.setStyleSheet("background: #20242c;")
    grid = QGridLayout(window)
    for i, (name, color) in enumerate([("Ana", "#3b6ea5"), ("Ben", "#6a4c93"), ("Chen", "#2a9d8f"),
                                       ("Dara", "#b5651d")]):
        tile = QLabel(name)
        tile.setAlignment(Qt.AlignmentFlag.AlignCenter)
        tile.setStyleSheet(f"background: {color}; color: white; font-size: 40px; border-radius: 12px;")
        grid.addWidget(tile, i // 2, i % 2)
    return window


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a model name or folder (default: the default model)")
    parser.add_argument("--speech", help="an audio file to caption (default: flite or espeak-ng reads a few "
                        "sentences)")
    parser.add_argument("--out", default=str(ROOT / "packaging" / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("VIVAVOCE_DATA_DIR", tmp)  # keep the screenshots' transcripts out of yours
        from app.gui import make_application
        from app.main_window import MainWindow
        from app.settings import Settings
        from app.worker import CaptionRequest

        app = make_application()
        speech = Path(args.speech) if args.speech else speak(Path(tmp))
        window = MainWindow(Settings(Path(tmp) / "settings.ini"), model=args.model)
        window.resize(1280, 620)
        window.move(40, 40)
        window.show()
        wait(app, 30, lambda: window.lists_ready)  # the model list, filled after the first paint
        window.start(CaptionRequest(source="file", file=str(speech), model=window.model_box.currentData(),
                                    realtime=True))
        wait(app, 60, lambda: len(window.captions.finals) >= 2 and bool(window.captions.partial))
        wait(app, 0.3)
        window.grab().save(str(out / "main-window.png"))

        call = meeting_window()
        call.setGeometry(0, 0, 1600, 900)
        call.show()
        window.dock_overlay("bottom")
        window.overlay.raise_()
        view = window.overlay.view
        wait(app, 30, lambda: not window.running or (len(view.finals) >= 3 and bool(view.partial)))
        wait(app, 0.3)
        app.primaryScreen().grabWindow(0).save(str(out / "overlay.png"))
        window.close()
        call.close()
    print(f"wrote {out / 'main-window.png'} and {out / 'overlay.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
