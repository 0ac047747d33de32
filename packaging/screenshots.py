"""The README's screenshots: the main window captioning speech, the overlay over another window, the
models window testing the model on a few sentences, the voice recorder, the pronunciation practice
window, and the training window fine-tuning a model.

Needs a real X server (Xvfb will do), flite or espeak-ng for the speech, and PulseAudio (the
recorder hears espeak-ng through a null sink the script loads and unloads):

    xvfb-run -s "-screen 0 1600x900x24" .venv/bin/python packaging/screenshots.py [--model NAME]

It captions the speech with the model, at the pace of real time, exactly as a
user would see it, then fine-tunes the model for a minute on a few sentences
that espeak-ng reads, and writes packaging/screenshots/{main-window,overlay,models,recorder,practice,training}.png.
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


TRAINING_SENTENCES = [
    "please send the report before lunch", "the meeting moved to half past three",
    "we need two more people for the project", "can you share your screen with everyone",
    "the budget was approved on monday", "let us start with the first item on the list",
    "i will write the summary after the call", "the new office opens next spring",
    "thank you all for your hard work", "does anyone have questions about the plan",
    "the server went down for an hour last night", "we should ask the customer what they think",
]


def training_shot(app, tmp: Path, model: str | None, out: Path) -> None:
    """The training window halfway through a real fine-tuning run of ``model`` on espeak-ng speech."""
    from app.settings import Settings
    from app.training_window import TrainingWindow

    data = tmp / "espeak-sentences"
    data.mkdir()
    for i, text in enumerate(TRAINING_SENTENCES * 2):
        voice = ("en-us", "en-gb", "en-us+f3", "en-gb-x-rp")[i % 4]
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(140 + 4 * (i % 9)), "-w", str(data / f"{i:02}.wav"),
                        text], check=True)
        (data / f"{i:02}.txt").write_text(text + "\n")
    settings = tmp / "quick.toml"
    settings.write_text("batch_seconds = 20.0\nworkers = 0\nlog_every = 1\nfreeze_transformer_steps = 0\n"
                        "learning_rate = 0.0003\nvalid_fraction = 0.2\neval_every = 8\npatience = 1000\n")
    window = TrainingWindow(Settings(tmp / "training.ini"))
    window.resize(980, 820)
    window.move(60, 40)
    window.show()
    window.data_edit.setText(str(data))
    window.inspect_data()
    wait(app, 60, lambda: window.inspection is None)
    window.config_edit.setText(str(settings))
    window.init_box.setCurrentIndex(max(0, window.init_box.findData(f"init:{model or 'default'}")))
    window.name_box.setEditText("meeting-voices")
    window.minutes_spin.setValue(10)
    window.steps_spin.setValue(64)
    window.start()
    wait(app, 600, lambda: not window.running or len(window.plot.evaluations) >= 4)
    wait(app, 1.5)
    window.grab().save(str(out / "training.png"))
    window.stop()
    wait(app, 120, lambda: not window.running)
    window.close()


def recorder_shot(app, tmp: Path, out: Path) -> None:
    """The voice recorder recording its fourth sentence, three saved, espeak-ng reading into a null sink."""
    from app.recorder_window import RecorderWindow
    from app.settings import Settings

    def pactl(*args: str) -> str:
        return subprocess.run(["pactl", *args], capture_output=True, text=True, check=True).stdout.strip()

    source = pactl("get-default-source")
    module = pactl("load-module", "module-null-sink", "sink_name=vivavoce_shot")
    try:
        pactl("set-default-source", "vivavoce_shot.monitor")
        import sounddevice
        sounddevice._terminate()
        sounddevice._initialize()
        window = RecorderWindow(Settings(tmp / "recorder.ini"))
        window.resize(860, 560)
        window.show()
        wait(app, 15, lambda: window.listening)
        for take in range(4):
            wav = tmp / f"take{take}.wav"
            subprocess.run(["espeak-ng", "-v", ("en-us", "en-gb")[take % 2], "-s", "150", "-w", str(wav),
                            window.set.sentences[window.index]], check=True)
            window.toggle_recording()
            player = subprocess.Popen(["paplay", "-d", "vivavoce_shot", str(wav)])
            if take == 3:
                wait(app, 2.2)
                window.grab().save(str(out / "recorder.png"))
            while player.poll() is None:
                wait(app, 0.05)
            wait(app, 0.3)
            window.toggle_recording()
            wait(app, 5, lambda: not window.recording)
        window.close()
        practice_shot(app, tmp, out)
    finally:
        pactl("unload-module", module)
        pactl("set-default-source", source)


def practice_shot(app, tmp: Path, out: Path) -> None:
    """The practice window after espeak-ng read its first sentence with "sheep" for "ship" into the null sink."""
    from app.practice_window import PracticeWindow
    from app.settings import Settings

    window = PracticeWindow(Settings(tmp / "practice.ini"))
    window.resize(900, 640)
    window.show()
    wait(app, 15, lambda: window.listening)
    wav = tmp / "practice.wav"
    said = window.text.replace("ship", "sheep", 1)
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), said], check=True)
    window.toggle_recording()
    subprocess.run(["paplay", "-d", "vivavoce_shot", str(wav)], check=True)
    wait(app, 30, lambda: window.result is not None)
    wait(app, 0.3)
    window.grab().save(str(out / "practice.png"))
    window.close()


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
        call.close()
        window.show_models()
        models = window.models_window
        models.resize(1000, 620)
        models.refresh(select=args.model or "default")
        held_out = Path(tmp) / "held-out"
        held_out.mkdir()
        for i, text in enumerate(TRAINING_SENTENCES[:3]):
            subprocess.run(["espeak-ng", "-v", ("en-us", "en-gb")[i % 2], "-s", "150", "-w",
                            str(held_out / f"{i}.wav"), text], check=True)
            (held_out / f"{i}.txt").write_text(text + "\n")
        models.test_on(str(held_out))
        wait(app, 120, lambda: models.child is None)
        wait(app, 0.5)
        models.grab().save(str(out / "models.png"))
        window.close()
        recorder_shot(app, Path(tmp), out)
        training_shot(app, Path(tmp), args.model, out)
    names = ("main-window.png", "overlay.png", "models.png", "recorder.png", "practice.png")
    print(f"wrote {', '.join(str(out / n) for n in names)} and {out / 'training.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
