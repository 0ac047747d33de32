"""The training window: real `vivavoce train` runs in a child process, followed, stopped, resumed and installed."""

import json
import os
import re

import pytest

from app.main_window import MainWindow
from app.settings import Settings
from app.training_plot import log_ticks, nice_ticks, smoothed
from app.training_window import SIZES, TrainingWindow, checkpoint_file, runs_dir
from conftest import speak
from engine.model import Wav2Vec2
from engine.modelfolder import is_model_folder
from engine.presets import preset
from engine.store import models_dir
from training.config import stop_file
from training.events import EventReader, RunRecord

SENTENCES = ["the cat sat on the mat", "a quick brown fox jumps", "she sells sea shells",
             "every cloud has a lining", "the rain in spain", "actions speak louder than words",
             "better late than never", "birds of a feather", "the early bird catches the worm",
             "a picture is worth a thousand words", "all that glitters is not gold",
             "where there is smoke there is fire"]
RUN_MS = 180_000  # a run of a few dozen tiny steps takes seconds; the limit is for a loaded machine
# Small, quick fine-tuning: batches of a few sentences, validation every 4 steps.
FINETUNE = """batch_seconds = 12.0
workers = 0
log_every = 1
freeze_transformer_steps = 0
learning_rate = 0.002
mask_prob = 0.0
channel_mask_prob = 0.0
valid_fraction = 0.25
eval_every = 4
patience = 1000
"""


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    """Twelve espeak-ng sentences (over 20 s, enough to pretrain on) with a transcript beside each."""
    folder = tmp_path_factory.mktemp("recordings")
    for i, text in enumerate(SENTENCES):
        speak(text, folder / f"s{i}.wav", voice=("en-us", "en-gb")[i % 2], speed=150 + 5 * i)
        (folder / f"s{i}.txt").write_text(text + "\n")
    return folder


@pytest.fixture
def quick(tmp_path):
    path = tmp_path / "quick.toml"
    path.write_text(FINETUNE)
    return path


@pytest.fixture
def windows(qtbot, tmp_path, starter):
    """The caption window with its training window open, and a model to start from installed."""
    main = MainWindow(settings=Settings(tmp_path / "settings.ini"))
    qtbot.addWidget(main)
    main.show()
    main.fill_lists()
    main.show_training()
    return main, main.training_window


def fill(window: TrainingWindow, recordings, name: str, steps: int, settings=None, start="init:starter") -> None:
    window.data_edit.setText(str(recordings))
    window.config_edit.setText(str(settings or ""))
    window.init_box.setCurrentIndex(window.init_box.findData(start))
    assert window.init_box.currentData() == start
    window.name_box.setEditText(name)
    window.minutes_spin.setValue(0)
    window.steps_spin.setValue(steps)


def finish(qtbot, window: TrainingWindow) -> None:
    qtbot.waitUntil(lambda: not window.running, timeout=RUN_MS)


def test_a_finished_run_shows_its_progress_and_curves_and_its_model_joins_the_model_list(
        qtbot, windows, recordings, quick, starter):
    main, window = windows
    ready = []
    window.model_ready.connect(ready.append)
    fill(window, recordings, "mine", 12, quick)

    window.start_button.click()
    assert window.running and not window.start_button.isEnabled() and window.stop_button.isEnabled()
    assert not window.data_edit.isEnabled() and not window.name_box.isEnabled()
    finish(qtbot, window)

    assert ready == ["mine"]
    assert (window.progress.value(), window.progress.maximum()) == (12, 12)
    assert window.progress.format() == "Step 12 of 12"
    assert [step for step, _ in window.plot.losses] == list(range(1, 13))
    assert [step for step, _ in window.plot.evaluations] == [4, 8, 12]
    assert "validation CER" in window.plot.accessibleDescription()
    folder = models_dir() / "mine"
    assert is_model_folder(folder) and json.loads((folder / "config.json").read_text())["kind"] == "ctc"
    assert (folder / "training" / "events.jsonl").is_file() and not checkpoint_file(folder).exists()
    assert not (runs_dir() / "mine").exists()
    assert window.banner.isVisible() and window.banner.kind == "info" and "mine is ready" in window.banner.text.text()
    assert window.state_label.text().startswith("Trained mine: 12 steps, best validation CER")
    assert main.model_box.findData("mine") >= 0
    assert main.statusBar().currentMessage().startswith("Trained mine: 12 steps, best validation CER")
    assert window.start_button.isEnabled() and window.data_edit.isEnabled()


def test_stop_saves_the_run_and_a_new_window_resumes_it_to_the_end(qtbot, windows, recordings, quick, starter,
                                                                  tmp_path):
    main, window = windows
    fill(window, recordings, "long", 60, quick)
    window.start_button.click()
    qtbot.waitUntil(lambda: window.progress.value() >= 3, timeout=RUN_MS)

    child = window.run.process.processId()
    assert os.getpriority(os.PRIO_PROCESS, child) == min(os.getpriority(os.PRIO_PROCESS, 0) + 10, 19)  # yields to captions

    window.stop_button.click()
    assert "Stopping" in window.state_label.text() and not window.stop_button.isEnabled()
    finish(qtbot, window)

    stopped = window.plot.losses[-1][0]
    assert 3 <= stopped < 60
    assert window.state_label.text() == f"Stopped at step {stopped} and saved"
    assert checkpoint_file(runs_dir() / "long").is_file() and not (models_dir() / "long").exists()
    assert window.start_button.text() == "Resume" and not window.data_edit.isEnabled()

    # As after a restart: a new window lists the run and shows where it stopped.
    again = TrainingWindow(Settings(tmp_path / "other.ini"))
    qtbot.addWidget(again)
    assert again.name_box.findText("long") >= 0
    again.name_box.setCurrentIndex(again.name_box.findText("long"))
    assert again.data_edit.text() == str(recordings) and again.steps_spin.value() == 60
    assert not again.data_edit.isEnabled() and again.start_button.text() == "Resume"
    assert f"stopped at step {stopped} of 60" in again.resume_note.text()
    assert [step for step, _ in again.plot.losses] == list(range(1, stopped + 1))

    again.start_button.click()
    finish(qtbot, again)

    assert is_model_folder(models_dir() / "long") and not (runs_dir() / "long").exists()
    assert [step for step, _ in again.plot.losses] == list(range(1, 61))  # each step once, across the stop
    assert again.progress.value() == 60 and again.name_box.findText("long") < 0


def test_without_signals_stop_asks_through_the_stop_file_and_the_run_is_saved(qtbot, windows, recordings, quick,
                                                                              monkeypatch):
    """Windows has no SIGTERM: there the run's stop file alone stops it, and it is saved all the same."""
    monkeypatch.setattr("app.child.SIGNALS", False)
    main, window = windows
    fill(window, recordings, "nosignal", 60, quick)
    window.start_button.click()
    qtbot.waitUntil(lambda: window.progress.value() >= 3, timeout=RUN_MS)
    window.stop_button.click()
    finish(qtbot, window)
    stopped = window.plot.losses[-1][0]
    assert window.state_label.text() == f"Stopped at step {stopped} and saved" and stopped < 60
    assert checkpoint_file(runs_dir() / "nosignal").is_file()
    assert not stop_file(runs_dir() / "nosignal").exists()


def test_pretraining_a_new_model_offers_it_for_fine_tuning(qtbot, windows, recordings, tmp_path):
    _, window = windows
    settings = tmp_path / "pretrain.toml"
    settings.write_text("batch_seconds = 12.0\ncrop_seconds = 3.0\nworkers = 0\nlog_every = 1\n")
    window.pretrain_radio.setChecked(True)
    assert window.init_box.currentData() == "preset:compact"  # the default model's size, first
    fill(window, recordings, "fresh", 3, settings, start="preset:tiny")

    window.start_button.click()
    finish(qtbot, window)

    assert window.state_label.text() == "Trained fresh: 3 steps", window.banner.text.text()
    config = json.loads((models_dir() / "fresh" / "config.json").read_text())
    assert config["kind"] == "pretrained" and config["architecture"]["hidden_size"] == 192
    assert "fresh is pretrained" in window.banner.text.text()
    window.finetune_radio.setChecked(True)
    assert window.init_box.findData("init:fresh") >= 0


def test_the_sizes_offered_are_those_of_the_presets():
    for size, label in SIZES.items():
        millions = float(re.search(r"([\d.]+) M parameters", label).group(1))
        model = Wav2Vec2(preset(size))
        assert millions == round(sum(p.numel() for p in model.parameters()) / 1e6, 1), size


def test_recordings_without_transcripts_are_refused_in_one_line_that_names_them(qtbot, windows, tmp_path,
                                                                                 quick, starter):
    main, window = windows
    bare = tmp_path / "bare"
    bare.mkdir()
    speak("no transcript here", bare / "a.wav")
    fill(window, bare, "broken", 5, quick)

    window.start_button.click()
    finish(qtbot, window)

    text = window.banner.text.text()
    assert window.banner.kind == "error" and str(bare) in text and "\n" not in text
    assert window.state_label.text() == "Stopped by an error"
    assert main.statusBar().currentMessage() == "Training broken: stopped by an error (Models ▸ Train a model)"
    assert not (runs_dir() / "broken").exists() and not (models_dir() / "broken").exists()
    assert window.start_button.text() == "Start training" and window.start_button.isEnabled()


def test_the_recordings_folder_is_described_as_soon_as_it_is_chosen(qtbot, windows, recordings, tmp_path):
    _, window = windows
    window.data_edit.setText(str(recordings))
    window.inspect_data()
    qtbot.waitUntil(lambda: window.inspection is None, timeout=RUN_MS)

    assert window.data_note.text().startswith("Usable utterances: 12, 0:00:")
    assert "With transcripts: 12, 0:00:" in window.data_note.text()
    assert "Sample rates: 22050 Hz: 12" in window.data_note.toolTip()

    bare = tmp_path / "bare"
    bare.mkdir()
    speak("no transcript here", bare / "a.wav")
    window.data_edit.setText(str(bare))
    window.inspect_data()
    qtbot.waitUntil(lambda: window.inspection is None, timeout=RUN_MS)

    assert window.data_note.text() == ("Usable utterances: 1, 0:00:02 in all · "
                                       "With transcripts: none (the folder can serve pretraining only)")


def test_a_name_already_installed_is_refused_before_anything_starts(windows, recordings, quick, starter):
    _, window = windows
    fill(window, recordings, "starter", 5, quick)

    window.start_button.click()

    assert not window.running
    assert "a model named 'starter' is already installed" in window.banner.text.text()
    assert not runs_dir().exists()


def test_a_path_typed_as_the_name_is_refused_and_never_offered_for_deletion(windows, recordings, quick,
                                                                            tmp_path):
    _, window = windows
    precious = tmp_path / "precious"
    (precious / "training").mkdir(parents=True)
    (precious / "training" / "checkpoint.pt").write_bytes(b"not a run")
    fill(window, recordings, str(precious), 5, quick)

    assert not window.discard_button.isEnabled() and window.start_button.text() == "Start training"
    window.discard()
    window.start_button.click()

    assert precious.is_dir() and not window.running
    assert window.banner.text.text().startswith(f"name {str(precious)!r}: use letters, digits")


def test_a_missing_recordings_folder_is_named(windows, tmp_path, quick, starter):
    _, window = windows
    fill(window, tmp_path / "nowhere", "lost", 5, quick)

    window.start_button.click()

    assert not window.running and window.banner.text.text() == f"Recordings: {tmp_path / 'nowhere'}: no such folder."


def test_a_training_program_that_cannot_start_is_named(qtbot, windows, recordings, quick, monkeypatch):
    _, window = windows
    monkeypatch.setattr("app.child.vivavoce_program", lambda: ("/nowhere/vivavoce", []))
    fill(window, recordings, "never", 5, quick)

    window.start_button.click()
    finish(qtbot, window)

    assert window.banner.kind == "error"
    assert window.banner.text.text().startswith("/nowhere/vivavoce: the program could not be started")
    assert not (runs_dir() / "never").exists() and window.start_button.isEnabled()


def test_closing_the_app_during_a_run_saves_it_to_resume(qtbot, windows, recordings, quick, starter):
    main, window = windows
    fill(window, recordings, "interrupted", 200, quick)
    window.start_button.click()
    run = window.run
    qtbot.waitUntil(lambda: window.progress.value() >= 2, timeout=RUN_MS)

    main.close()

    assert not run.running and checkpoint_file(runs_dir() / "interrupted").is_file()


def test_the_event_reader_returns_whole_lines_only(tmp_path):
    path = tmp_path / "events.jsonl"
    reader = EventReader(str(path))
    assert reader.read() == []
    with open(path, "w") as f:
        f.write('{"event": "start", "step": 0}\n{"event": "st')
    assert reader.read() == [{"event": "start", "step": 0}]
    with open(path, "a") as f:
        f.write('ep", "step": 1}\n')
    assert reader.read() == [{"event": "step", "step": 1}]
    assert reader.read() == []


def test_a_run_record_drops_the_steps_a_resumed_run_does_again_and_estimates_the_time_left():
    record = RunRecord()
    record.add({"event": "start", "command": "vivavoce train finetune --data d", "step": 0, "max_steps": 10})
    for step in range(1, 6):
        record.add({"event": "step", "time": 100.0 + 2 * step, "step": step, "total": 10, "loss": 5.0 - step})
    record.add({"event": "evaluation", "step": 4, "cer": 0.5})
    assert record.stage == "finetune" and record.seconds_left() == pytest.approx(10.0)  # 5 steps of 2 s

    record.add({"event": "start", "command": "vivavoce train finetune --data d", "step": 3, "max_steps": 10})
    assert [s for s, _ in record.losses] == [1, 2, 3] and record.evaluations == []
    assert record.seconds_left() is None  # no pace yet in the new process
    record.add({"event": "done", "step": 10, "model": "m"})
    assert record.step == 10 and record.done["model"] == "m"


def test_axis_ticks_are_round_and_within_the_range():
    assert nice_ticks(58.1, 259) == [100, 150, 200, 250]
    assert nice_ticks(0, 20000) == [0, 5000, 10000, 15000, 20000]
    assert log_ticks(0.5, 300) == [1, 10, 100]
    assert all(2.1 <= t <= 2.9 for t in nice_ticks(2.1, 2.9))


def test_the_loss_average_starts_at_the_first_value_and_follows_a_change():
    assert smoothed([(1, 4.0), (2, 4.0)]) == [(1, 4.0), (2, pytest.approx(4.0))]
    later = smoothed([(1, 4.0)] * 5 + [(6, 1.0)] * 40)
    assert 1.0 < later[5][1] < 4.0 and later[-1][1] == pytest.approx(1.0, abs=0.01)
