"""The training window: fine-tune or pretrain a model on the user's recordings.

A face on `vivavoce train finetune|pretrain`: the run goes on in a child process
(app/child.py) in the user's data folder (``runs/NAME``), this window
follows its events with a progress bar, the time left and a live plot, Stop
saves it to resume later, and a finished model is moved into the model store,
where the caption window's Model list finds it.
"""

import shutil
import tomllib
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout,
                               QLabel, QLineEdit, QMessageBox, QPlainTextEdit, QProgressBar, QPushButton,
                               QRadioButton, QSpinBox, QVBoxLayout, QWidget)

from engine.errors import VivavoceError
from engine.paths import data_dir
from training.config import stop_file, training_dir
from training.events import EventReader, RunRecord

from .banner import MessageBanner
from .settings import Settings
from .child import CRASHED, STOPPED, Child, TrainingRun

# New models a user can pretrain (engine/presets.py; parameter counts of the pretraining model,
# checked by the tests).
SIZES = {
    "compact": "A new compact model: 5.3 M parameters, the default model's size",
    "tiny": "A new tiny model: 2.3 M parameters",
    "small": "A new small model: 16.9 M parameters",
    "base": "A new BASE model: 95.0 M parameters, as wav2vec 2.0 BASE (needs a GPU)",
}
LOG_LINES = 5000
SUMMARY_LINES = ("Usable utterances", "With transcripts", "Unreadable", "Audio without transcript",
                 "Transcripts without audio")  # of the inspect-data report (training/data.py)
SHUT_DOWN_MS = 120_000  # closing the app waits this long at most for a run to save its checkpoint


def runs_dir() -> Path:
    """Where the runs started from the app keep their checkpoints until their model is finished."""
    return data_dir() / "runs"


def run_folder(name: str) -> Path | None:
    """The folder of the run ``name``; None for a name that is no model name (a path, say), which
    must never reach the disk: the window deletes run folders."""
    from engine.store import valid_name

    return runs_dir() / name if valid_name(name) else None


def checkpoint_file(run: Path) -> Path:
    return training_dir(run) / "checkpoint.pt"  # training/checkpoint.py's NAME (that module loads torch)


def events_file(run: Path) -> Path:
    return training_dir(run) / "events.jsonl"


def config_file(run: Path) -> Path:
    return training_dir(run) / "config.toml"


def unfinished_runs() -> list[str]:
    """The names of the runs that were stopped with a checkpoint and can be resumed."""
    folder = runs_dir()
    if not folder.is_dir():
        return []
    return sorted(run.name for run in folder.iterdir() if checkpoint_file(run).is_file())


def saved_record(run: Path) -> RunRecord:
    """What a run's events file says of it so far."""
    record = RunRecord()
    for event in EventReader(str(events_file(run))).read():
        record.add(event)
    return record


def saved_settings(run: Path) -> dict:
    """The settings a run was started with (its training/config.toml), or {}."""
    try:
        with open(config_file(run), "rb") as f:
            return tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if seconds < 60:
        return "under a minute"
    if minutes < 90:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


class TrainingWindow(QWidget):
    """Start, follow, stop and resume a training run; a finished model is announced by ``model_ready``."""

    model_ready = Signal(str)  # the name of a model just installed
    ended = Signal(str)  # how a run ended, in a few words (for the caption window's status bar)

    def __init__(self, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.Window)
        self.settings = settings
        self.run: TrainingRun | None = None
        self.run_name = ""
        self.shown = ""  # the name of the run whose progress and curves are shown
        self.stopping = False
        self.setWindowTitle("Train a model – Vivavoce")
        self.setAccessibleName("Train a model")
        self.banner = MessageBanner()
        self._build_form()
        self._build_progress()
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(self.form_box)
        layout.addLayout(self.buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.log_label)
        layout.addWidget(self.log)
        self._restore()
        self.fill_names()
        self._update_controls()

    # -- building ---------------------------------------------------------------

    def _build_form(self) -> None:
        self.finetune_radio = QRadioButton("&Teach a model to transcribe: recordings with transcripts (fine-tune)")
        self.pretrain_radio = QRadioButton("&Pretrain a new model: recordings alone, no transcripts needed")
        self.stage_group = QButtonGroup(self)
        self.stage_group.addButton(self.finetune_radio)
        self.stage_group.addButton(self.pretrain_radio)
        self.finetune_radio.setChecked(True)

        self.data_edit = QLineEdit()  # its placeholder says what the stage needs (_stage_changed)
        self.data_edit.setAccessibleName("Recordings folder")
        self.data_browse = QPushButton("&Browse…")
        self.data_browse.setAccessibleDescription("Choose the folder of recordings")
        data_row = QHBoxLayout()
        data_row.addWidget(self.data_edit, 1)
        data_row.addWidget(self.data_browse)
        self.data_note = QLabel()  # what the folder holds, from `vivavoce train inspect-data`
        self.data_note.setWordWrap(True)
        self.data_note.hide()
        self.data_note.setAccessibleName("What the recordings folder holds")
        self.inspection: Child | None = None

        self.init_box = QComboBox()  # items' data: "init:MODEL" or "preset:SIZE", as the command takes them
        self.init_box.setAccessibleName("Start from")
        self.name_box = QComboBox()
        self.name_box.setEditable(True)
        self.name_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.name_box.lineEdit().setPlaceholderText("A name for the new model, e.g. my-voice")
        self.name_box.setAccessibleName("Name of the new model")
        self.name_box.setAccessibleDescription("A new name starts a run; the name of an unfinished run resumes it")

        self.minutes_spin = QSpinBox()
        self.minutes_spin.setRange(0, 100_000)
        self.minutes_spin.setSuffix(" min")
        self.minutes_spin.setSpecialValueText("no time limit")
        self.minutes_spin.setAccessibleName("Minutes of training")
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(1, 10_000_000)
        self.steps_spin.setGroupSeparatorShown(True)
        self.steps_spin.setAccessibleName("Most updates")
        length_row = QHBoxLayout()
        length_row.addWidget(self.minutes_spin)
        length_row.addWidget(QLabel("at most"))
        length_row.addWidget(self.steps_spin)
        length_row.addWidget(QLabel("updates"))
        length_row.addStretch(1)

        self.config_edit = QLineEdit()
        self.config_edit.setPlaceholderText("Optional: a TOML file of further settings (see the README)")
        self.config_edit.setAccessibleName("Settings file")
        self.config_browse = QPushButton("B&rowse…")
        self.config_browse.setAccessibleDescription("Choose a settings file")
        config_row = QHBoxLayout()
        config_row.addWidget(self.config_edit, 1)
        config_row.addWidget(self.config_browse)

        self.form_box = QGroupBox("What to train")
        form = QFormLayout(self.form_box)
        form.addRow(self.finetune_radio)
        form.addRow(self.pretrain_radio)
        for text, field in (("Re&cordings:", data_row), ("&Start from:", self.init_box),
                            ("&Name:", self.name_box), ("Train &for:", length_row),
                            ("Settin&gs file:", config_row)):
            label = QLabel(text)
            label.setBuddy(field if isinstance(field, QWidget) else field.itemAt(0).widget())
            form.addRow(label, field)
            if field is data_row:
                form.addRow("", self.data_note)
        self.settings_fields = (self.finetune_radio, self.pretrain_radio, self.data_edit, self.data_browse,
                                self.init_box, self.minutes_spin, self.steps_spin, self.config_edit,
                                self.config_browse)
        self.resume_note = QLabel()
        self.resume_note.setWordWrap(True)
        form.addRow(self.resume_note)

        self.start_button = QPushButton("Start training")
        self.start_button.setDefault(True)
        self.stop_button = QPushButton("Sto&p")
        self.stop_button.setAccessibleDescription("Stop the run; it is saved and can be resumed")
        self.discard_button = QPushButton("&Discard run…")
        self.discard_button.setAccessibleDescription("Delete the unfinished run of this name")
        self.state_label = QLabel("Ready")
        self.buttons = QHBoxLayout()
        for button in (self.start_button, self.stop_button, self.discard_button):
            self.buttons.addWidget(button)
        self.buttons.addWidget(self.state_label, 1)

        self.pretrain_radio.toggled.connect(lambda *_: self._stage_changed())
        self.data_browse.clicked.connect(self._browse_data)
        self.data_edit.editingFinished.connect(self.inspect_data)
        self.config_browse.clicked.connect(self._browse_config)
        self.name_box.currentTextChanged.connect(lambda *_: self._name_changed())
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.discard_button.clicked.connect(self.discard)

    def _build_progress(self) -> None:
        from .training_plot import TrainingPlot

        self.progress = QProgressBar()
        self.progress.setAccessibleName("Training progress")
        self.progress.setTextVisible(True)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("Not started")
        self.plot = TrainingPlot()
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(LOG_LINES)
        self.log.setAccessibleName("Training output")
        self.log.setMaximumHeight(110)
        self.log_label = QLabel("&Output:")
        self.log_label.setBuddy(self.log)

    # -- the form ---------------------------------------------------------------

    @property
    def stage(self) -> str:
        return "pretrain" if self.pretrain_radio.isChecked() else "finetune"

    def fill_names(self) -> None:
        """The name list: the unfinished runs, to resume; typing a new name starts a new one."""
        text = self.name_box.currentText()
        self.name_box.blockSignals(True)
        self.name_box.clear()
        self.name_box.addItems(unfinished_runs())
        self.name_box.setEditText(text)
        self.name_box.blockSignals(False)
        self._name_changed()

    def fill_starts(self) -> None:
        """What a run can start from: installed models to fine-tune; new sizes, or a pretrained model, to pretrain."""
        from engine.store import DEFAULT_MODEL, list_models

        chosen = self.init_box.currentData()
        self.init_box.clear()
        models = list_models()
        if self.stage == "pretrain":
            for size, label in SIZES.items():
                self.init_box.addItem(label, f"preset:{size}")
            for entry in models:
                if entry.config.kind == "pretrained":
                    self.init_box.addItem(f"Go on pretraining {entry.name}", f"init:{entry.name}")
        else:
            for entry in models:
                label = entry.name + (" (bundled)" if entry.bundled else "") + (
                    {"pretrained": ", pretrained", "phoneme": ", phonemes"}.get(entry.config.kind, ""))
                self.init_box.addItem(label, f"init:{entry.name}")
                self.init_box.setItemData(self.init_box.count() - 1, entry.summary, Qt.ItemDataRole.ToolTipRole)
        index = self.init_box.findData(chosen)
        if index < 0:
            index = self.init_box.findData(f"init:{DEFAULT_MODEL}" if self.stage == "finetune" else "preset:compact")
        self.init_box.setCurrentIndex(max(index, 0))

    def _stage_changed(self) -> None:
        self.fill_starts()
        self.data_edit.setPlaceholderText(
            "A folder of recordings (WAV, FLAC…), with or without transcripts" if self.stage == "pretrain" else
            "A folder of recordings (WAV, FLAC…), each with a .txt transcript beside it")
        if not self.running:
            self.steps_spin.setValue(self.settings.get(f"training/{self.stage}_steps", 20000, kind=int))

    def _name_changed(self) -> None:
        """A name of an unfinished run shows that run, its settings and curves, ready to resume."""
        if self.running:
            return
        run = run_folder(self.name)
        resumable = run is not None and checkpoint_file(run).is_file()
        if resumable:
            self._show_saved(run)
        elif self.name != self.shown:  # else a run just ended under this name: its figures stay
            self.shown = ""
            self.resume_note.hide()
            self.plot.set_curves([], [], 0)
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.setFormat("Not started")
        self._update_controls()

    def _show_saved(self, run: Path) -> None:
        record, values = saved_record(run), saved_settings(run)
        if record.stage in ("finetune", "pretrain"):
            (self.pretrain_radio if record.stage == "pretrain" else self.finetune_radio).setChecked(True)
        self.data_edit.setText(values.get("data", ""))
        self.minutes_spin.setValue(round(values.get("max_minutes", 0)))
        self.steps_spin.setValue(values.get("max_steps", 1))
        start = f"init:{values['init']}" if values.get("init") else f"preset:{values.get('preset', '')}"
        if self.init_box.findData(start) < 0:
            self.init_box.addItem(start.partition(":")[2], start)
        self.init_box.setCurrentIndex(self.init_box.findData(start))
        self.resume_note.setText(f"An unfinished run: stopped at step {record.checkpoint_step or record.step} of "
                                 f"{record.total}. Resume goes on from there with its own settings.")
        self.resume_note.show()
        self.shown = run.name
        self._show_record(record)

    @property
    def name(self) -> str:
        return self.name_box.currentText().strip()

    def _browse_data(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Recordings to train on", self.data_edit.text())
        if path:
            self.data_edit.setText(path)
            self.inspect_data()

    def inspect_data(self) -> None:
        """Say under the folder field what it holds (`vivavoce train inspect-data`, in a child process:
        it reads every file's header, which takes a while for a large folder)."""
        folder = self.data_edit.text().strip()
        if self.inspection is not None:
            self.inspection.finished.disconnect()
            self.inspection.process.kill()
            self.inspection = None
        if not folder or not Path(folder).expanduser().is_dir():
            self.data_note.setText("")
            self.data_note.hide()
            return
        self.data_note.setText("Reading the folder…")
        self.data_note.show()
        self.data_note.setToolTip("")
        self.inspection = Child(["train", "inspect-data", str(Path(folder).expanduser())], parent=self)
        self.inspection.finished.connect(self._on_inspected)
        self.inspection.start()

    def _on_inspected(self, code: int) -> None:
        child, self.inspection = self.inspection, None
        child.deleteLater()
        lines = list(child.lines)
        if code != 0:
            self.data_note.setText(child.error_line() or "The folder could not be read.")
            return
        # The lines that say whether there is enough to train on, and what is wrong ("Usable
        # utterances: N, H:MM:SS in all", "With transcripts: ...", "Audio without transcript: N", ...);
        # the whole report is the tooltip.
        summary = [line.strip() for line in lines if line.startswith(SUMMARY_LINES)]
        self.data_note.setText(" · ".join(summary) or (lines[-1] if lines else ""))
        self.data_note.setToolTip("\n".join(lines))

    def prepare(self, data: str, name: str) -> None:
        """Fill the form to fine-tune on the recordings in ``data`` under a new model name based on
        ``name`` (Record your voice ▸ Train on these recordings). A run in progress is left alone."""
        if self.running:
            self.show_message("A run is in progress: stop it first to train on the recordings.", "info")
            return
        from engine.store import DEFAULT_MODEL, list_models

        self.finetune_radio.setChecked(True)
        self.data_edit.setText(data)
        taken = set(unfinished_runs()) | {entry.name for entry in list_models()}
        model, n = name, 1
        while model in taken:
            n += 1
            model = f"{name}-{n}"
        self.name_box.setEditText(model)
        index = self.init_box.findData(f"init:{DEFAULT_MODEL}")
        if index >= 0:
            self.init_box.setCurrentIndex(index)
        self.inspect_data()

    def _browse_config(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Training settings", self.config_edit.text(),
                                              "Settings (*.toml);;All files (*)")
        if path:
            self.config_edit.setText(path)

    # -- running ----------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.run is not None

    def arguments(self, run: Path) -> list[str] | None:
        """The command's arguments for a new run into ``run``, or None (and a message) when a field is wrong."""
        data = self.data_edit.text().strip()
        if not data:
            self.show_message("Choose the folder of recordings to train on.")
            return None
        if not Path(data).expanduser().is_dir():
            self.show_message(f"Recordings: {data}: no such folder.")
            return None
        config = self.config_edit.text().strip()
        if config and not Path(config).expanduser().is_file():
            self.show_message(f"Settings file: {config}: no such file.")
            return None
        kind, _, start = (self.init_box.currentData() or "").partition(":")
        if not start:
            self.show_message("No model to start from is installed: import one, or pretrain a new one.")
            return None
        arguments = ["--data", str(Path(data).expanduser()), f"--{kind}", start, "--out", str(run),
                     "--events", str(events_file(run)), "--max-minutes", str(self.minutes_spin.value()),
                     "--max-steps", str(self.steps_spin.value())]
        return arguments + (["--config", str(Path(config).expanduser())] if config else [])

    def start(self) -> None:
        """Start a run of the chosen name, or resume it when it is an unfinished one."""
        from engine.store import check_name

        if self.running:
            return
        name = self.name
        if not name:
            self.show_message("Give the new model a name.")
            return
        try:
            check_name(name, "name")
        except VivavoceError as error:
            self.show_message(f"{error}.")
            return
        run = run_folder(name)
        resume = checkpoint_file(run).is_file()
        if resume:
            stage = saved_record(run).stage
            arguments = ["--config", str(config_file(run)), "--resume"]
        else:
            if run.exists():
                self.show_message(f"{run} holds an earlier run that stopped before it could be saved: "
                                  "discard it, or choose another name.")
                self.discard_button.setEnabled(True)
                return
            stage, arguments = self.stage, self.arguments(run)
            if arguments is None:
                return
            try:
                events_file(run).parent.mkdir(parents=True)
            except OSError as error:
                self.show_message(f"{run}: cannot be created ({error.strerror or error}).")
                return
        self.banner.hide()
        self.log.clear()
        self._save()
        self.run_name = self.shown = name
        self.stopping = False
        self.resume_note.hide()
        self.run = TrainingRun(stage, arguments, str(events_file(run)), str(stop_file(run)), self)
        self.run.changed.connect(self._on_events)
        self.run.output.connect(self.log.appendPlainText)
        self.run.finished.connect(self._on_finished)
        self.state_label.setText(f"{'Resuming' if resume else 'Starting'} {name}…")
        self.run.start()
        self._update_controls()

    def stop(self) -> None:
        if self.running and not self.stopping:
            self.stopping = True
            self.state_label.setText("Stopping: saving the run at the end of this step…")
            self.run.stop()
            self._update_controls()

    def discard(self) -> None:
        """Delete the run of the chosen name (after asking): its checkpoint and any model it made."""
        run = run_folder(self.name)
        if self.running or run is None or not run.exists():
            return
        answer = QMessageBox.question(self, "Discard the run?",
                                      f"Delete the unfinished run {self.name} and everything it has learnt?")
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            shutil.rmtree(run)
        except OSError as error:
            self.show_message(f"{run}: could not be deleted ({error.strerror or error}).")
            return
        self.state_label.setText(f"Discarded {self.name}")
        self.fill_names()

    def shut_down(self) -> None:
        """Stop a run and wait for it to save (the app is closing)."""
        if self.running:
            self.stop()
            self.run.wait(SHUT_DOWN_MS)

    def _on_events(self) -> None:
        record = self.run.record
        self._show_record(record)
        if record.warnings:
            self.show_message(record.warnings[-1][0].upper() + record.warnings[-1][1:], "warning")
            record.warnings.clear()
        if not self.stopping and record.step:
            self.state_label.setText(f"Training {self.run_name}")

    def _show_record(self, record: RunRecord) -> None:
        total = max(record.total, record.step, 1)
        self.progress.setRange(0, total)
        self.progress.setValue(record.step)
        left = record.seconds_left()
        text = f"Step {record.step:,} of {total:,}"
        if left is not None and record.done is None:
            text += f" · {duration(left)} left"
        self.progress.setFormat(text)
        self.progress.setAccessibleDescription(text)
        self.plot.set_curves(record.losses, record.evaluations, total)

    def _on_finished(self, code: int) -> None:
        run, name = self.run, self.run_name
        self.run = None
        run.deleteLater()
        folder = runs_dir() / name
        record = run.record
        if code == 0 and record.done is not None:
            self._install(folder, name, record)
        elif code == STOPPED or (self.stopping and checkpoint_file(folder).is_file()):
            self.state_label.setText(f"Stopped at step {record.checkpoint_step:,} and saved")
            self.show_message(f"{name} is saved at step {record.checkpoint_step:,}: choose it under Name and "
                              "press Resume to go on.", "info")
        elif self.stopping:
            self.state_label.setText("Stopped")
            self._clear_away(folder)
            self.show_message(f"{name} was stopped before its first step, so there is nothing to resume.", "info")
        else:
            self.state_label.setText("Stopped by an error")
            self._clear_away(folder)
            line = run.error_line()
            if not line:
                last = run.lines[-1] if run.lines else "no output"
                line = (f"training ended unexpectedly (exit code {code})" if code != CRASHED else
                        "training was killed") + f": {last}"
            self.show_message(line[0].upper() + line[1:] + ("" if line.endswith(".") else "."))
        self.stopping = False
        self.fill_names()
        self._update_controls()
        state = self.state_label.text()
        self.ended.emit(state if state.startswith("Trained ") else f"Training {name}: {state[0].lower()}{state[1:]}")

    @staticmethod
    def _clear_away(run: Path) -> None:
        """Remove a run that ended before it saved anything (no checkpoint, no model), so that
        starting again under its name, the problem put right, just works."""
        from engine.modelfolder import WEIGHTS

        if not checkpoint_file(run).is_file() and not (run / WEIGHTS).is_file():
            shutil.rmtree(run, ignore_errors=True)

    def _install(self, folder: Path, name: str, record: RunRecord) -> None:
        from engine.store import install_folder

        try:
            installed = install_folder(folder, name)
        except VivavoceError as error:
            self.state_label.setText("Trained, not installed")
            self.show_message(f"{error}; the model is in {folder}.")
            return
        # The optimizer's state is of no use once the run has ended, and is twice the model's size.
        checkpoint_file(installed).unlink(missing_ok=True)
        stop_file(installed).unlink(missing_ok=True)  # a stop asked for as the run finished
        best = record.done.get("best_cer")
        start = next((cer for step, cer in record.evaluations if step == 0), None)
        result = (f", best validation CER {100 * best:.1f}%" + (f" (from {100 * start:.1f}% before training)"
                                                               if start is not None else "")
                  if isinstance(best, (int, float)) else "")
        early = " (stopped early: validation stopped improving)" if record.done.get("outcome") == "stopped early" else ""
        self.state_label.setText(f"Trained {name}: {record.step:,} steps{early}{result}")
        if record.stage == "pretrain":
            self.show_message(f"{name} is pretrained. Fine-tune it on recordings with transcripts (choose it under "
                              "Start from) before it can caption.", "info")
        else:
            self.show_message(f"{name} is ready: choose it in the Model list of the caption window.", "info")
        self.fill_starts()
        self.model_ready.emit(name)

    def _update_controls(self) -> None:
        running = self.running
        run = run_folder(self.name)
        resumable = run is not None and checkpoint_file(run).is_file()
        self.start_button.setText("Resume" if resumable and not running else "Start training")
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running and not self.stopping)
        self.discard_button.setEnabled(not running and run is not None and run.exists())
        self.name_box.setEnabled(not running)
        for widget in self.settings_fields:  # an unfinished run resumes with its own settings
            widget.setEnabled(not running and not resumable)

    def show_message(self, text: str, kind: str = "error") -> None:
        self.banner.show_message(text, kind)

    # -- settings ---------------------------------------------------------------

    def _restore(self) -> None:
        s = self.settings
        (self.pretrain_radio if s.get("training/stage", "finetune") == "pretrain" else self.finetune_radio
         ).setChecked(True)
        self.data_edit.setText(s.get("training/data", ""))
        self.config_edit.setText(s.get("training/config", ""))
        self.minutes_spin.setValue(s.get("training/minutes", 60, kind=int))
        self._stage_changed()
        geometry = s.geometry("training/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(920, 760)

    def showEvent(self, event) -> None:
        """The lists as they are now: models may have been installed since the window was last open."""
        super().showEvent(event)
        if not self.running:
            self.fill_starts()
            self.fill_names()

    def closeEvent(self, event) -> None:
        """Closing hides the window; a run goes on (Models ▸ Train a model brings it back)."""
        self.settings.set("training/geometry", self.saveGeometry())
        super().closeEvent(event)

    def _save(self) -> None:
        s = self.settings
        s.set("training/stage", self.stage)
        s.set("training/data", self.data_edit.text())
        s.set("training/config", self.config_edit.text())
        s.set("training/minutes", self.minutes_spin.value())
        s.set(f"training/{self.stage}_steps", self.steps_spin.value())
        s.set("training/geometry", self.saveGeometry())
