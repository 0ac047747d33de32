"""The main window: live captions, their controls, the transcript, and the status of recognition."""

import gc
import math
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QComboBox, QDockWidget, QFileDialog, QHBoxLayout, QLabel,
                               QLineEdit, QMainWindow, QMessageBox, QProgressBar, QPushButton,
                               QVBoxLayout, QWidget)

from engine.transcripts import Line

from .banner import MessageBanner
from .microphones import fill_microphones
from .captions import CaptionView
from .overlay import CaptionOverlay
from .settings import Settings
from .style import CaptionStyle
from .style_dialog import StyleDialog
from .transcript_panel import TranscriptPanel
from .worker import CaptionRequest, CaptionThread, CaptionWorker

LEVEL_FLOOR_DB = -60.0
GC_INTERVAL_MS = 1000
STOP_WAIT_MS = 60_000  # closing waits this long at most for captions to stop (a model still loading)
LISTS_FALLBACK_MS = 1000  # fill the device and model lists by then even if the window was never painted
FULL_GC_TICKS = 300  # a full collection every 5 minutes
SOURCE_LABELS = {"mic": "Microphone", "system": "System sound", "file": "Audio file"}
AUDIO_FILES = "Audio files (*.wav *.flac *.ogg *.mp3);;All files (*)"


class MainWindow(QMainWindow):
    def __init__(self, settings: Settings | None = None, model: str | None = None, compute: str = "auto"):
        super().__init__()
        self.settings = settings or Settings()
        self.compute = compute
        self.worker: CaptionWorker | None = None
        self.thread: CaptionThread | None = None
        self.style_dialog: StyleDialog | None = None
        self.training_window = None  # made when first opened
        self.models_window = None  # made when first opened
        self.recorder_window = None  # made when first opened
        self.practice_window = None  # made when first opened
        self.setWindowTitle("Vivavoce")
        self.setAccessibleName("Vivavoce live captions")
        # Python's cyclic garbage collector runs in whichever thread happens to allocate; in the
        # worker's it would destroy Qt objects of this thread and crash (seen). So while the window
        # is open, garbage is collected here only, on a timer: the young generations every tick
        # (a few milliseconds), everything only every FULL_GC_TICKS ticks, because a full
        # collection over torch's and Qt's objects can hold this thread for a quarter second.
        gc.disable()
        self.gc_ticks = 0
        self.gc_timer = QTimer(self)
        self.gc_timer.timeout.connect(self._collect_garbage)
        self.gc_timer.start(GC_INTERVAL_MS)

        self.banner = MessageBanner()
        self._build_controls()
        self.captions = CaptionView(opaque=True)
        self.captions.setMinimumHeight(160)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.banner)
        layout.addLayout(self.controls)
        layout.addWidget(self.captions, 1)
        self.setCentralWidget(central)

        self.transcript = TranscriptPanel()
        self.transcript_dock = QDockWidget("Transcript", self)
        self.transcript_dock.setObjectName("transcript")
        self.transcript_dock.setWidget(self.transcript)
        self.transcript.setMinimumWidth(260)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.transcript_dock)
        self.transcript.failed.connect(lambda text: self.show_message(text, "error"))
        self.transcript.exported.connect(lambda path: self.statusBar().showMessage(f"Saved {path}", 5000))

        self.overlay = CaptionOverlay()
        self.overlay.closed.connect(lambda: self.overlay_action.setChecked(False))
        self.overlay.moved.connect(self._save_overlay)

        self._build_status_bar()
        self._build_actions()
        self._set_tab_order()
        # The device and model lists wait for PortAudio's device scan and the model folders (a
        # fraction of a second; neither loads torch, which only the worker does): the window
        # shows first, with the lists saying they are loading, and fills them after its first
        # paint (or at once when captions are started before that).
        self.lists_ready = False
        self.bundled_models: dict[str, str] = {}  # name -> the summary of its model card
        self.bundled_notice_shown = False
        self._chosen_model = model
        self.device_box.addItem("Looking for devices…", None)
        self.model_box.addItem("Loading models…", None)
        self._restore()
        self._update_controls()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self.lists_ready:  # in case no paint comes (a window started minimised)
            QTimer.singleShot(LISTS_FALLBACK_MS, self.fill_lists)

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if not self.lists_ready:  # after this paint reaches the screen
            QTimer.singleShot(0, self.fill_lists)

    # -- building ---------------------------------------------------------------

    def _build_controls(self) -> None:
        self.start_button = QPushButton("Start")
        self.start_button.setAccessibleName("Start captions")
        self.start_button.setDefault(True)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setAccessibleName("Stop captions")
        self.source_box = QComboBox()
        for key, label in SOURCE_LABELS.items():
            self.source_box.addItem(label, key)
        self.source_box.setAccessibleName("Audio source")
        self.source_box.setAccessibleDescription("Where the speech comes from: a microphone, what the computer "
                                                 "plays, or an audio file")
        self.device_box = QComboBox()
        self.device_box.setAccessibleName("Microphone")
        self.device_box.setMinimumContentsLength(14)
        self.device_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.file_edit = QLineEdit()
        self.file_edit.setPlaceholderText("An audio file to caption")
        self.file_edit.setAccessibleName("Audio file")
        self.browse_button = QPushButton("&Browse…")
        self.browse_button.setAccessibleDescription("Choose an audio file to caption")
        self.model_box = QComboBox()
        self.model_box.setAccessibleName("Model")
        self.model_box.setAccessibleDescription("The speech recognition model")
        self.model_box.setMinimumContentsLength(10)
        self.model_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.level_meter = QProgressBar()
        self.level_meter.setRange(0, int(-LEVEL_FLOOR_DB))
        self.level_meter.setTextVisible(False)
        self.level_meter.setMaximumWidth(120)
        self.level_meter.setMaximumHeight(14)
        self.level_meter.setAccessibleName("Input level")
        self.level_meter.setToolTip("Input level")

        labels = [(QLabel("&Source:"), self.source_box), (QLabel("&Microphone:"), self.device_box),
                  (QLabel("M&odel:"), self.model_box)]
        for label, widget in labels:
            label.setBuddy(widget)
        self.device_label = labels[1][0]
        self.controls = QHBoxLayout()
        self.controls.addWidget(self.start_button)
        self.controls.addWidget(self.stop_button)
        for label, widget in labels[:2]:
            self.controls.addWidget(label)
            self.controls.addWidget(widget)
        self.controls.addWidget(self.file_edit, 3)
        self.controls.addWidget(self.browse_button)
        self.controls.addStretch(1)  # labels stay beside their fields when the file field is hidden
        self.controls.addWidget(labels[2][0])
        self.controls.addWidget(labels[2][1])

        self.start_button.clicked.connect(self.toggle)
        self.stop_button.clicked.connect(self.stop)
        self.source_box.currentIndexChanged.connect(self._update_controls)
        self.model_box.currentIndexChanged.connect(self._describe_model)
        self.browse_button.clicked.connect(self._browse)

    def _describe_model(self) -> None:
        """The chosen model's card summary, on hover and for screen readers."""
        summary = self.model_box.currentData(Qt.ItemDataRole.ToolTipRole) or ""
        self.model_box.setToolTip(summary)
        self.model_box.setAccessibleDescription(
            "The speech recognition model" + (f": {summary}" if summary else ""))

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.state_label = QLabel("Ready")
        self.compute_label = QLabel()
        self.delay_label = QLabel()
        self.rtf_label = QLabel()
        self.dropped_label = QLabel()
        self.compute_label.setToolTip("Where recognition runs")
        self.delay_label.setToolTip("From speech to caption, on average")
        self.rtf_label.setToolTip("Recognition time per second of audio (below 1.0 keeps up)")
        self.dropped_label.setToolTip("Audio skipped because recognition fell behind")
        bar.addWidget(self.level_meter)
        bar.addWidget(self.state_label, 1)
        for label in (self.compute_label, self.delay_label, self.rtf_label, self.dropped_label):
            bar.addPermanentWidget(label)

    def _action(self, menu, text: str, shortcuts, slot, checkable: bool = False, tip: str = "") -> QAction:
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
        action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        action.setCheckable(checkable)
        if tip:
            action.setStatusTip(tip)
        (action.toggled if checkable else action.triggered).connect(slot)
        menu.addAction(action)
        return action

    def _build_actions(self) -> None:
        menus = self.menuBar()
        captions = menus.addMenu("&Captions")
        self.start_action = self._action(captions, "&Start or pause", ["Ctrl+Space", "F5"], self.toggle,
                                         tip="Start captions, or pause and resume them")
        self.stop_action = self._action(captions, "S&top", ["Shift+F5"], self.stop)
        self.clear_action = self._action(captions, "&Clear captions", ["Ctrl+L"], self.clear)
        captions.addSeparator()
        self.start_on_open_action = self._action(
            captions, "Start captions when Vivavoce &opens", [], self._set_start_on_open, checkable=True,
            tip="Open the app straight into captions, with the source, device and model chosen last")
        captions.addSeparator()
        self._action(captions, "&Quit", ["Ctrl+Q"], self.close)

        view = menus.addMenu("&View")
        self.overlay_action = self._action(view, "Caption &overlay", ["Ctrl+Shift+O", "F9"], self.show_overlay,
                                           checkable=True, tip="Captions in a window that stays on top")
        self.click_through_action = self._action(view, "Overlay &ignores the mouse (click-through)",
                                                 ["Ctrl+Shift+T"], self.overlay.set_click_through,
                                                 checkable=True)
        self._action(view, "Dock overlay at the &top", ["Ctrl+Shift+Up"], lambda: self.dock_overlay("top"))
        self._action(view, "Dock overlay at the &bottom", ["Ctrl+Shift+Down"], lambda: self.dock_overlay("bottom"))
        view.addSeparator()
        self._action(view, "&Bigger text", ["Ctrl++", "Ctrl+="], lambda: self.resize_text(1))
        self._action(view, "&Smaller text", ["Ctrl+-"], lambda: self.resize_text(-1))
        self._action(view, "Caption st&yle…", ["Ctrl+Shift+S"], self.edit_style)
        view.addSeparator()
        self.transcript_action = self.transcript_dock.toggleViewAction()
        self.transcript_action.setShortcut(QKeySequence("Ctrl+T"))
        view.addAction(self.transcript_action)

        transcript = menus.addMenu("&Transcript")
        self._action(transcript, "&Find…", ["Ctrl+F"], self._find)
        self._action(transcript, "&Copy", ["Ctrl+Shift+C"], self.transcript.copy)
        self._action(transcript, "&Export…", ["Ctrl+E"], self.transcript.ask_export)
        self._action(transcript, "&Open an earlier transcript…", ["Ctrl+O"], self._open_transcript)

        models = menus.addMenu("&Models")
        self._action(models, "&Manage models…", ["Ctrl+Shift+M"], self.show_models,
                     tip="The installed models and their cards; import and remove models")
        self._action(models, "&Record your voice…", ["Ctrl+Shift+V"], self.show_recorder,
                     tip="Read sentences aloud to make recordings a model can learn your voice from")
        self._action(models, "&Train a model…", ["Ctrl+Shift+R"], self.show_training,
                     tip="Fine-tune or pretrain a model on your own recordings")

        practice = menus.addMenu("&Practice")
        self._action(practice, "Practise &pronunciation…", ["Ctrl+Shift+P"], self.show_practice,
                     tip="Read a sentence aloud and see which words and sounds to work on")

        help_menu = menus.addMenu("&Help")
        self._action(help_menu, "&Keyboard shortcuts", ["F1"], self._show_shortcuts)

    def _set_tab_order(self) -> None:
        order = [self.start_button, self.stop_button, self.source_box, self.device_box, self.file_edit,
                 self.browse_button, self.model_box, self.transcript.session, self.transcript.search,
                 self.transcript.list, self.transcript.copy_button, self.transcript.export_button]
        for first, second in zip(order, order[1:]):
            self.setTabOrder(first, second)

    # -- pickers ----------------------------------------------------------------

    @Slot()
    def fill_lists(self) -> None:
        """Fill the device and model lists and select the saved choices (once)."""
        if self.lists_ready:
            return
        self.lists_ready = True
        s = self.settings
        fill_microphones(self.device_box, s.get("captions/input_device", None, kind=None))
        self.fill_models(self._chosen_model)
        model = None if self._chosen_model else s.get("captions/model", None, kind=None)
        if model and self.model_box.findData(model) >= 0:
            self.model_box.setCurrentIndex(self.model_box.findData(model))
        self._update_controls()

    def fill_models(self, chosen: str | None = None) -> None:
        from engine.store import DEFAULT_MODEL, list_models

        self.model_box.clear()
        self.bundled_models.clear()
        for entry in list_models():
            if entry.config.kind == "phoneme":  # for pronunciation practice; it writes phonemes, not words
                continue
            label = entry.name + (" (bundled)" if entry.bundled else "")
            self.model_box.addItem(label, entry.name)
            self.model_box.setItemData(self.model_box.count() - 1, entry.summary, Qt.ItemDataRole.ToolTipRole)
            if entry.bundled:
                self.bundled_models[entry.name] = entry.summary
        if chosen and self.model_box.findData(chosen) < 0:
            self.model_box.addItem(Path(chosen).name, chosen)  # a model folder given on the command line
        if not self.model_box.count():
            self.model_box.addItem("No model installed", None)
            self.show_message("No speech model is installed. Download one (Models ▸ Manage models ▸ Download…) "
                              "or reinstall Vivavoce to get the bundled default model.", "warning")
        index = self.model_box.findData(chosen or DEFAULT_MODEL)
        self.model_box.setCurrentIndex(max(index, 0))
        self._describe_model()  # the index may not have changed while the items' tooltips did

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Caption an audio file", self.file_edit.text(), AUDIO_FILES)
        if path:
            self.file_edit.setText(path)
            self.source_box.setCurrentIndex(self.source_box.findData("file"))

    def request(self) -> CaptionRequest:
        return CaptionRequest(source=self.source_box.currentData(), input_device=self.device_box.currentData(),
                              file=self.file_edit.text().strip(), model=self.model_box.currentData(),
                              compute=self.compute)

    # -- captioning -------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.worker is not None

    def toggle(self) -> None:
        """Start captions; pause them while they run; resume them when paused."""
        if not self.running:
            self.start()
        else:
            self.pause(not self.worker.paused)

    def start(self, request: CaptionRequest | None = None) -> None:
        if self.running:
            return
        self.fill_lists()
        request = request or self.request()
        if request.model is None:
            self.show_message("No speech model is installed: download one in Models ▸ Manage models ▸ Download….")
            return
        self.banner.hide()
        if request.model in self.bundled_models and not self.bundled_notice_shown:
            # What the model that came with the app can and cannot do, in its card's words, once
            # per window: the user did not choose it, so may not know.
            self.bundled_notice_shown = True
            self.show_message(self.bundled_models[request.model], "info")
        self.transcript.start_session()
        self.captions.clear()
        self.overlay.view.clear()
        self.worker = CaptionWorker(request)
        self.thread = CaptionThread(self.worker, self)
        self.worker.loading.connect(self.state_label.setText)
        self.worker.started.connect(self._on_started)
        self.worker.partial.connect(self._on_partial)
        self.worker.final.connect(self._on_final)
        self.worker.level.connect(self._on_level)
        self.worker.stats.connect(self._on_stats)
        # Only bound methods of objects in this thread: Qt queues those calls into the GUI thread,
        # whereas a lambda would run in the worker's thread.
        self.worker.warning.connect(self._on_warning)
        self.worker.failed.connect(self._on_failed)
        self.thread.finished.connect(self._on_finished)
        self.thread.start()
        self._update_controls()

    def pause(self, paused: bool) -> None:
        if not self.running:
            return
        self.worker.set_paused(paused)
        self.state_label.setText("Paused" if paused else f"Captioning {self.worker.request.describe()}")
        if paused:
            self.level_meter.setValue(0)
        self._update_controls()

    def stop(self) -> None:
        if self.running:
            self.state_label.setText("Stopping…")
            self.worker.stop()

    def clear(self) -> None:
        self.captions.clear()
        self.overlay.view.clear()

    def _on_started(self, device: str, model: str) -> None:
        self.compute_label.setText("GPU" if device == "cuda" else "CPU")
        self.state_label.setText(f"Captioning {self.worker.request.describe()} with {model}")

    def _on_partial(self, words) -> None:
        text = " ".join(w.text for w in words)
        self.captions.set_partial(text)
        self.overlay.view.set_partial(text)

    def _on_final(self, words) -> None:
        if not words:
            return
        text = " ".join(w.text for w in words)
        self.captions.add_final(text)
        self.overlay.view.add_final(text)
        self.transcript.add_line(Line(list(words)))  # the worker has saved it

    def _on_level(self, rms: float) -> None:
        db = 20 * math.log10(max(rms, 1e-9))
        self.level_meter.setValue(round(max(0.0, db - LEVEL_FLOOR_DB)))

    def _on_stats(self, stats) -> None:
        self.delay_label.setText(f"delay {stats.delay:.2f} s")
        self.rtf_label.setText(f"RTF {stats.rtf:.2f}")
        self.dropped_label.setText(f"dropped {stats.dropped:.1f} s" if stats.dropped else "")

    def _on_warning(self, text: str) -> None:
        self.show_message(text[0].upper() + text[1:], "warning")

    def _on_failed(self, text: str) -> None:
        advice = ""
        lowered = text.lower()
        if "no audio input" in lowered or "microphone" in lowered or "device" in lowered:
            advice = " Check the microphone and choose it in the Microphone list, then press Start."
        elif "model" in lowered:
            advice = " Choose another model in the Model list, or import one with `vivavoce models import`."
        self.show_message(text[0].upper() + text[1:] + ("." if not text.endswith(".") else "") + advice)

    def _on_finished(self) -> None:
        self.thread.wait()
        self.thread.deleteLater()
        self.worker.deleteLater()
        self.worker = self.thread = None
        self.level_meter.setValue(0)
        if not self.banner.isVisible() or self.banner.kind != "error":
            self.state_label.setText("Stopped")
        else:
            self.state_label.setText("Stopped by an error")
        self.transcript.refresh_sessions()
        self._update_controls()

    def _update_controls(self) -> None:
        running = self.running
        paused = running and self.worker.paused
        self.start_button.setText("Resume" if paused else "Pause" if running else "Start")
        self.start_button.setAccessibleName(f"{self.start_button.text()} captions")
        self.stop_button.setEnabled(running)
        source = self.source_box.currentData()
        for widget in (self.source_box, self.device_box, self.file_edit, self.browse_button, self.model_box):
            widget.setEnabled(not running)
        for widget in (self.device_label, self.device_box):
            widget.setVisible(source == "mic")
        for widget in (self.file_edit, self.browse_button):
            widget.setVisible(source == "file")

    def show_message(self, text: str, kind: str = "error") -> None:
        self.banner.show_message(text, kind)

    # -- view -------------------------------------------------------------------

    def caption_style(self) -> CaptionStyle:
        return self.captions.caption_style

    def apply_style(self, style: CaptionStyle) -> None:
        self.captions.set_caption_style(style)
        self.overlay.set_caption_style(style)

    def resize_text(self, steps: int) -> None:
        self.apply_style(self.caption_style().resized(steps))

    def edit_style(self) -> None:
        if self.style_dialog is None:
            self.style_dialog = StyleDialog(self.caption_style(), self)
            self.style_dialog.style_changed.connect(self.apply_style)
            self.style_dialog.finished.connect(self._style_dialog_closed)
        self.style_dialog.show()
        self.style_dialog.raise_()

    def _style_dialog_closed(self) -> None:
        self.style_dialog.deleteLater()
        self.style_dialog = None

    def show_overlay(self, on: bool) -> None:
        if on:
            self.overlay.show()
            if self.overlay.dock != "free":
                self.overlay.apply_dock()
        else:
            self.overlay.hide()
        self.overlay_action.setChecked(on)

    def dock_overlay(self, dock: str) -> None:
        self.overlay.set_dock(dock)
        self.show_overlay(True)

    def show_training(self) -> None:
        from .training_window import TrainingWindow

        if self.training_window is None:
            self.training_window = TrainingWindow(self.settings, self)
            self.training_window.model_ready.connect(lambda _name: self._models_changed())
            self.training_window.ended.connect(
                lambda text: self.statusBar().showMessage(f"{text} (Models ▸ Train a model)", 15000))
        self.training_window.show()
        self.training_window.raise_()
        self.training_window.activateWindow()

    def show_practice(self) -> None:
        from .practice_window import PracticeWindow

        if self.practice_window is None:
            self.practice_window = PracticeWindow(self.settings, self)
        self.practice_window.show()
        self.practice_window.raise_()
        self.practice_window.activateWindow()

    def show_recorder(self) -> None:
        from .recorder_window import RecorderWindow

        if self.recorder_window is None:
            self.recorder_window = RecorderWindow(self.settings, self)
            self.recorder_window.train_requested.connect(self.train_on)
        self.recorder_window.show()
        self.recorder_window.raise_()
        self.recorder_window.activateWindow()

    def train_on(self, folder: str, name: str) -> None:
        """The training window, filled in to fine-tune on a recording set."""
        self.show_training()
        self.training_window.prepare(folder, name)

    def show_models(self) -> None:
        from .models_window import ModelsWindow

        if self.models_window is None:
            self.models_window = ModelsWindow(self.settings, self)
            self.models_window.changed.connect(self._models_changed)
            self.models_window.use.connect(self.use_model)
        self.models_window.show()
        self.models_window.raise_()
        self.models_window.activateWindow()

    def _models_changed(self) -> None:
        """A model was installed or removed: every list of models shows it."""
        from engine.store import list_models

        if self.lists_ready:
            current = self.model_box.currentData()
            kept = current == self._chosen_model or current in {entry.name for entry in list_models()}
            self.fill_models(current if kept else None)  # a removed model's place goes to the default
        if self.training_window is not None and not self.training_window.running:
            self.training_window.fill_starts()
        if self.practice_window is not None:
            self.practice_window.fill_models(self.practice_window.model_box.currentData())
        if self.models_window is not None and self.models_window.child is None:
            self.models_window.refresh()

    def use_model(self, name: str) -> None:
        """Caption with ``name`` from the next start (the running captions keep their model)."""
        self.fill_lists()
        index = self.model_box.findData(name)
        if index >= 0:
            self.model_box.setCurrentIndex(index)
        self.statusBar().showMessage(f"Captions will use {name}" + (" once restarted" if self.running else ""),
                                     10000)

    def _find(self) -> None:
        self.transcript_dock.show()
        self.transcript.search.setFocus()
        self.transcript.search.selectAll()

    def _open_transcript(self) -> None:
        from engine.transcripts import transcripts_dir

        path, _ = QFileDialog.getOpenFileName(self, "Open a transcript", str(transcripts_dir()),
                                              "Vivavoce transcripts (*.jsonl)")
        if path:
            self.transcript_dock.show()
            self.transcript.open_transcript(path)

    def _show_shortcuts(self) -> None:
        rows = []
        for menu in self.menuBar().findChildren(QAction):
            if menu.shortcut().toString():
                rows.append(f"{menu.shortcut().toString(QKeySequence.SequenceFormat.NativeText):>16}   "
                            f"{menu.text().replace('&', '')}")
        box = QMessageBox(QMessageBox.Icon.Information, "Keyboard shortcuts", "\n".join(rows),
                          QMessageBox.StandardButton.Close, self)
        box.setModal(False)
        box.show()

    # -- settings ---------------------------------------------------------------

    def _restore(self) -> None:
        s = self.settings
        self.apply_style(s.caption_style())
        geometry = s.geometry("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1100, 560)
        state = s.geometry("window/state")
        if state is not None:
            self.restoreState(state)
        source = s.get("captions/source", "mic")
        self.source_box.setCurrentIndex(max(0, self.source_box.findData(source)))
        self.file_edit.setText(s.get("captions/file", ""))
        self.overlay.dock = s.get("overlay/dock", "bottom")
        overlay_geometry = s.geometry("overlay/geometry")
        if self.overlay.dock == "free" and overlay_geometry is not None:
            self.overlay.restoreGeometry(overlay_geometry)
        self.click_through_action.setChecked(s.get("overlay/click_through", False, kind=bool))
        self.start_on_open_action.setChecked(s.get("captions/start_on_open", False, kind=bool))
        if s.get("overlay/visible", False, kind=bool):
            QTimer.singleShot(0, lambda: self.show_overlay(True))

    @Slot()
    def _collect_garbage(self) -> None:
        self.gc_ticks += 1
        gc.collect(2 if self.gc_ticks % FULL_GC_TICKS == 0 else 1)

    def _set_start_on_open(self, on: bool) -> None:
        self.settings.set("captions/start_on_open", on)

    @property
    def starts_on_open(self) -> bool:
        return self.start_on_open_action.isChecked()

    def _save_overlay(self) -> None:
        self.settings.set("overlay/dock", self.overlay.dock)
        self.settings.set("overlay/geometry", self.overlay.saveGeometry())

    def save_settings(self) -> None:
        s = self.settings
        s.set("window/geometry", self.saveGeometry())
        s.set("window/state", self.saveState())
        s.set("captions/source", self.source_box.currentData())
        if self.lists_ready:  # else the saved choices stand
            s.set("captions/input_device", self.device_box.currentData() or "")
            s.set("captions/model", self.model_box.currentData() or "")
        s.set("captions/file", self.file_edit.text())
        s.set_caption_style(self.caption_style())
        s.set("overlay/visible", self.overlay_action.isChecked())
        s.set("overlay/click_through", self.click_through_action.isChecked())
        self._save_overlay()
        s.sync()

    def closeEvent(self, event) -> None:
        self.save_settings()
        if self.running:
            self.worker.stop()
            # It ends within one hop of audio (or once its model has loaded). Its last caption,
            # flushed at the stop, is queued to this thread: deliver it, to the transcript too.
            self.thread.wait(STOP_WAIT_MS)
            QCoreApplication.sendPostedEvents()
        if self.training_window is not None:
            self.training_window.shut_down()  # a run saves itself to resume next time
            self.training_window.close()
        if self.models_window is not None:
            self.models_window.shut_down()
            self.models_window.close()
        if self.recorder_window is not None:
            self.recorder_window.close()
        if self.practice_window is not None:
            self.practice_window.close()
        self.overlay.close()
        self.gc_timer.stop()
        gc.collect()
        gc.enable()
        super().closeEvent(event)
