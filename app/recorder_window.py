"""Record your voice: read sentences aloud into a recording set to fine-tune a model on.

Measured (README, "What adapting the default model to a voice gives"): 14 minutes of one voice
and 20 minutes of CPU take the bundled model from 50% to 18.4% character errors on that voice. This
window is how a user makes those minutes: it shows a sentence, records it, cuts the silence
around it, checks the level, and saves it with its transcript in the folder layout the training
commands read (`training.recording_set`). "Train on these recordings" opens the training window
filled in for them.

The microphone stays open while the window is (a `Listener` thread): the level bar shows that
it hears the user before they record, and Record starts at once, with the last 0.3 s before the
press kept, so a first word said with the click is not cut.
"""

import threading
from collections import deque
from pathlib import Path

import numpy as np
from PySide6.QtCore import QElapsedTimer, QThread, QTimer, Qt, Signal
from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent, QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QFrame, QHBoxLayout, QLabel,
                               QProgressBar, QPushButton, QVBoxLayout, QWidget)

from engine.errors import VivavoceError
from training.recording_set import (SAMPLE_RATE, RecordingSet, check_take, dbfs, read_sentences,
                                    recording_sets, recordings_dir, trimmed)

from .banner import MessageBanner
from .microphones import fill_microphones
from .settings import Settings

PREROLL_SECONDS = 0.3
LEVEL_INTERVAL = 0.05
FLOOR_DB = -60.0  # the level bar's empty end
TARGET_MINUTES = 15  # what the README's measurement used (14.2 minutes)
MAX_TAKE_SECONDS = 30.0  # a take left running stops itself: fine-tuning skips longer recordings
PAUSE_SECONDS = 1.5  # "Stop after a pause": this much quiet after speech ends the take
SPEECH_ABOVE_FLOOR_DB = 15.0  # a block is speech this far above the quietest of the last seconds
SPEECH_MIN_DBFS = -55.0  # and never quieter than this (a digitally silent input has no floor)
FLOOR_SECONDS = 3.0
LISTENING = "Listening. Press Record (R) and read the sentence."


class Listener(QThread):
    """The open microphone: reports its level, and collects a take between ``begin`` and ``end``."""

    ready = Signal()  # the first audio arrived
    level = Signal(float)  # dBFS of the latest audio
    take = Signal(int, object)  # the number ``begin`` gave, np.ndarray of 16 kHz float32, after ``end``
    failed = Signal(str)

    def __init__(self, device: str | None, parent=None):
        super().__init__(parent)
        self.device = device
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._recording = False
        self._ending = False
        self._blocks: list[np.ndarray] = []
        self._number = 0
        self._recent: deque[tuple[float, float]] = deque()  # (seconds, dBFS) of the blocks before a take
        self._pause: float | None = None  # end the take after this much quiet following speech
        self._threshold = SPEECH_MIN_DBFS
        self._heard = False
        self._quiet = 0.0

    def begin(self, number: int, stop_after_pause: bool = False) -> None:
        with self._lock:
            self._recording, self._ending, self._blocks, self._number = True, False, [], number
            self._pause = PAUSE_SECONDS if stop_after_pause else None
            floor = min((level for _, level in self._recent), default=-120.0)
            self._threshold = max(floor + SPEECH_ABOVE_FLOOR_DB, SPEECH_MIN_DBFS)
            self._heard, self._quiet = False, 0.0

    def end(self) -> None:
        with self._lock:
            self._ending = True

    def cancel(self) -> None:
        """Drop the take being recorded."""
        with self._lock:
            self._blocks, self._recording, self._ending = [], False, False

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        from engine.capture import MicrophoneSource

        source = MicrophoneSource(self.device)
        try:
            source.start()
            preroll = np.zeros(0, dtype=np.float32)
            said_ready, last_level, clock = False, 0.0, 0.0
            while not self._stop.is_set():
                block = source.read(timeout=0.1)
                if not len(block):
                    continue
                if not said_ready:
                    said_ready = True
                    self.ready.emit()
                clock += len(block) / SAMPLE_RATE
                level = dbfs(block)
                if clock - last_level >= LEVEL_INTERVAL:
                    last_level = clock
                    self.level.emit(level)
                self._collect(block, level, preroll)
                with self._lock:
                    self._recent.append((clock, level))
                    while self._recent[0][0] < clock - FLOOR_SECONDS:
                        self._recent.popleft()
                preroll = np.concatenate([preroll, block])[-int(PREROLL_SECONDS * SAMPLE_RATE):]
        except VivavoceError as error:
            self.failed.emit(str(error))
        except Exception as error:  # noqa: BLE001 - the window must say that the microphone stopped
            self.failed.emit(f"the microphone stopped: {type(error).__name__}: {error}")
        finally:
            source.stop()

    def _collect(self, block: np.ndarray, level: float, preroll: np.ndarray) -> None:
        with self._lock:
            if not self._recording:
                return
            if not self._blocks:
                self._blocks.append(preroll.copy())
            self._blocks.append(block)
            if level > self._threshold:
                self._heard, self._quiet = True, 0.0
            elif self._heard:
                self._quiet += len(block) / SAMPLE_RATE
            paused = self._pause is not None and self._quiet >= self._pause
            seconds = sum(len(b) for b in self._blocks) / SAMPLE_RATE
            if not (self._ending or paused or seconds >= MAX_TAKE_SECONDS):
                return
            samples, number = np.concatenate(self._blocks), self._number
            self._blocks, self._recording, self._ending = [], False, False
        self.take.emit(number, samples)


class Listening:
    """A window's open microphone (a `Listener`): opened by ``start_listening``, opened again on
    another microphone when one is chosen, closed by ``stop_listening``.

    The window has ``settings``, ``device_box``, ``level_bar``, ``state_label``, ``listener``,
    ``ready``, ``recording`` and the slots ``_on_ready``, ``_on_take``, ``_on_failed``, ``_update``.
    The microphone chosen is one setting for every window that records (``recorder/input_device``).
    """

    def start_listening(self) -> None:
        self.stop_listening()
        self.state_label.setText("Opening the microphone…")
        self.level_bar.setValue(0)
        self.listener = Listener(self.device_box.currentData(), self)
        self.listener.ready.connect(self._on_ready)
        self.listener.level.connect(self._on_level)
        self.listener.take.connect(self._on_take)
        self.listener.failed.connect(self._on_failed)
        self.listener.finished.connect(self._update)
        self.listener.start()
        self._update()

    def stop_listening(self) -> None:
        listener, self.listener = self.listener, None
        if listener is not None:
            for signal in (listener.ready, listener.level, listener.take, listener.failed, listener.finished):
                signal.disconnect()
            listener.stop()
            listener.wait()
        self.ready = self.recording = False

    def _device_chosen(self) -> None:
        self.settings.set("recorder/input_device", self.device_box.currentData())
        self.start_listening()

    def _on_level(self, db: float) -> None:
        self.level_bar.setValue(round(100 * min(1.0, max(0.0, (db - FLOOR_DB) / -FLOOR_DB))))


class RecorderWindow(Listening, QWidget):
    """Read the sentences of a recording set aloud, one at a time."""

    train_requested = Signal(str, str)  # the set's folder, a name for the model

    def __init__(self, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.Window)
        self.settings = settings
        self.listener: Listener | None = None
        self.ready = False  # the listener's audio flows
        self.recording = False
        self.take_index = 0  # the sentence being recorded
        self.takes = 0  # takes begun: a take that arrives is kept only if it is the latest
        self.playing = False  # a recording was sent to the output (sounddevice.play) and may still sound
        self.set: RecordingSet | None = None
        self.index = 0
        self.setWindowTitle("Record your voice – Vivavoce")
        self.setAccessibleName("Record your voice")
        self.banner = MessageBanner()
        self._build()
        self._restore()

    # -- building ---------------------------------------------------------------

    def _build(self) -> None:
        self.set_box = QComboBox()
        self.set_box.setEditable(True)
        self.set_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.set_box.setAccessibleName("Recording set")
        self.set_box.setAccessibleDescription("A folder of your recordings; a new name starts a new set")
        self.set_box.setToolTip(f"Sets are kept in {recordings_dir()}")
        self.device_box = QComboBox()
        self.device_box.setAccessibleName("Microphone")
        self.sentences_button = QPushButton("&Own sentences…")
        self.sentences_button.setToolTip("Read sentences of your own (a text file, one a line): the words, names "
                                         "or language you need. A set with no recordings yet takes them instead "
                                         "of the bundled English ones; otherwise they are added.")
        top = QFormLayout()
        set_row = QHBoxLayout()
        set_row.addWidget(self.set_box, 1)
        set_row.addWidget(self.sentences_button)
        for text, field in (("Recording &set:", set_row), ("&Microphone:", self.device_box)):
            label = QLabel(text)
            label.setBuddy(field if isinstance(field, QWidget) else self.set_box)
            top.addRow(label, field)

        self.position_label = QLabel()
        self.position_label.setAccessibleName("Sentence")
        self.sentence_label = QLabel()
        self.sentence_label.setWordWrap(True)
        self.sentence_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.sentence_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.sentence_label.setAccessibleName("Sentence to read")
        font = QFont(self.sentence_label.font())
        font.setPointSizeF(font.pointSizeF() * 1.8)
        self.sentence_label.setFont(font)
        self.sentence_label.setMinimumHeight(140)
        self.sentence_frame = QFrame()
        self.sentence_frame.setObjectName("sentence")
        frame_layout = QVBoxLayout(self.sentence_frame)
        frame_layout.addWidget(self.sentence_label)

        self.level_bar = QProgressBar()
        self.level_bar.setRange(0, 100)
        self.level_bar.setTextVisible(False)
        self.level_bar.setMaximumHeight(14)
        self.level_bar.setAccessibleName("Microphone level")
        self.state_label = QLabel("Opening the microphone…")
        self.state_label.setAccessibleName("Recorder state")
        self.take_clock = QElapsedTimer()
        self.clock_timer = QTimer(self)  # the seconds recorded, while recording
        self.clock_timer.setInterval(200)
        self.clock_timer.timeout.connect(self._tick)

        self.previous_button = QPushButton("◀ &Previous")
        self.record_button = QPushButton("● &Record")
        self.record_button.setAccessibleDescription("Start recording this sentence; press again when you have read it")
        self.record_button.setMinimumWidth(140)
        self.play_button = QPushButton("▶ P&lay")
        self.play_button.setAccessibleDescription("Play back this sentence's recording")
        self.delete_button = QPushButton("&Delete")
        self.delete_button.setAccessibleDescription("Delete this sentence's recording")
        self.next_button = QPushButton("&Next ▶")
        self.pause_box = QCheckBox("Stop after a p&ause")
        self.pause_box.setToolTip(f"End each recording {PAUSE_SECONDS:g} s after you stop speaking, "
                                  "instead of waiting for Stop")
        buttons = QHBoxLayout()
        buttons.addWidget(self.previous_button)
        buttons.addStretch(1)
        buttons.addWidget(self.record_button)
        buttons.addWidget(self.play_button)
        buttons.addWidget(self.delete_button)
        buttons.addStretch(1)
        buttons.addWidget(self.pause_box)
        buttons.addWidget(self.next_button)

        self.note_label = QLabel()
        self.note_label.setWordWrap(True)
        self.note_label.setAccessibleName("About the last recording")
        self.total_label = QLabel()
        self.total_label.setWordWrap(True)
        self.total_label.setAccessibleName("Recorded so far")
        self.train_button = QPushButton("&Train on these recordings…")
        self.train_button.setAccessibleDescription("Open the training window, filled in to fine-tune on this set")
        bottom = QHBoxLayout()
        bottom.addWidget(self.total_label, 1)
        bottom.addWidget(self.train_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addLayout(top)
        layout.addWidget(self.position_label)
        layout.addWidget(self.sentence_frame, 1)
        layout.addWidget(self.level_bar)
        layout.addWidget(self.state_label)
        layout.addLayout(buttons)
        layout.addWidget(self.note_label)
        layout.addLayout(bottom)

        self.record_button.clicked.connect(self.toggle_recording)
        self.previous_button.clicked.connect(lambda: self.go(self.index - 1))
        self.next_button.clicked.connect(lambda: self.go(self.index + 1))
        self.play_button.clicked.connect(self.play)
        self.delete_button.clicked.connect(self.delete)
        self.train_button.clicked.connect(self._train)
        self.sentences_button.clicked.connect(self._own_sentences)
        self.set_box.lineEdit().editingFinished.connect(self._set_chosen)
        self.set_box.activated.connect(lambda *_: self._set_chosen())
        self.device_box.activated.connect(lambda *_: self._device_chosen())
        for keys, slot in ((("R",), self.toggle_recording), (("PgDown", "Alt+Right"), self.next_button.click),
                           (("PgUp", "Alt+Left"), self.previous_button.click), (("Ctrl+P",), self.play)):
            for key in keys:
                QShortcut(QKeySequence(key), self, slot)

    def _restore(self) -> None:
        s = self.settings
        geometry = s.geometry("recorder/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(760, 520)
        fill_microphones(self.device_box, s.get("recorder/input_device", None, kind=None))
        self.pause_box.setChecked(s.get("recorder/stop_after_pause", True, kind=bool))
        self.pause_box.toggled.connect(lambda on: self.settings.set("recorder/stop_after_pause", on))
        self.set_box.addItems(recording_sets())
        self.open_set(s.get("recorder/set", "my-voice"))

    # -- the set and the sentence -----------------------------------------------

    def open_set(self, name: str) -> bool:
        from engine.store import valid_name

        name = name.strip()
        try:
            if not valid_name(name):
                raise VivavoceError(f"Recording set {name!r}: use letters, digits, '.', '_' and '-' (at most 64)")
            self.set = RecordingSet(recordings_dir() / name)
        except VivavoceError as error:
            self.show_message(f"{error}.")
            if self.set is not None:
                self.set_box.setEditText(self.set.name)
            return False
        self.set_box.setEditText(name)
        self.settings.set("recorder/set", name)
        self.banner.hide()
        self.note_label.setText("")
        self.go(self.set.next_unrecorded() or 0)
        return True

    def _set_chosen(self) -> None:
        if self.set is None or self.set_box.currentText().strip() != self.set.name:
            self.cancel_take()
            self.open_set(self.set_box.currentText())

    def go(self, index: int) -> None:
        """Show sentence ``index`` (wrapping round the list)."""
        if self.set is None or not self.set.sentences:
            return
        self.cancel_take()
        self.index = index % len(self.set.sentences)
        self.sentence_label.setText(self.set.sentences[self.index])
        self._update()

    def _update(self) -> None:
        # The sentence on a card, its edge red while recording.
        edge = "#d03030" if self.recording else "palette(mid)"
        self.sentence_frame.setStyleSheet(f"#sentence {{ background: palette(base); border: 2px solid {edge}; "
                                          "border-radius: 8px; }")
        s, i = self.set, self.index
        done = s.recorded_indices() if s else []
        recorded = s is not None and s.recorded(i)
        self.position_label.setText(f"Sentence {i + 1} of {len(s.sentences)}" + (" · recorded ✓" if recorded else "")
                                    if s else "")
        minutes = s.seconds() / 60 if s else 0.0
        self.total_label.setText(
            f"{len(done)} recorded, {minutes:.1f} minutes, in {s.folder}. About {TARGET_MINUTES} minutes "
            "(some 200 sentences) teach a model your voice well." if s else "")
        self.record_button.setText("■ &Stop" if self.recording else ("● Re-&record" if recorded else "● &Record"))
        self.record_button.setEnabled(self.listening and s is not None)
        self.play_button.setEnabled(recorded and not self.recording)
        self.delete_button.setEnabled(recorded and not self.recording)
        self.train_button.setEnabled(bool(done) and not self.recording)
        for widget in (self.set_box, self.device_box, self.sentences_button):
            widget.setEnabled(not self.recording)

    # -- the microphone -----------------------------------------------------------

    def _on_ready(self) -> None:
        self.ready = True
        self.state_label.setText(LISTENING)
        self._update()

    def _on_failed(self, text: str) -> None:
        self.ready = self.recording = False
        self.state_label.setText("The microphone is not recording.")
        self.show_message(f"{text}. Choose another microphone above to try again.")
        self._update()

    # -- recording ----------------------------------------------------------------

    @property
    def listening(self) -> bool:
        """The microphone is open and its audio flows: Record starts at once."""
        return self.ready and self.listener is not None and self.listener.isRunning()

    def cancel_take(self) -> None:
        """Drop a take being recorded (moving to another sentence or set, closing)."""
        if self.recording and self.listener is not None:
            self.listener.cancel()
            self._note("The recording was dropped.")
        self.recording = False

    def toggle_recording(self) -> None:
        if self.listener is None or (not self.recording and not self.listening):
            return
        if self.recording:
            self.listener.end()
            self.state_label.setText("Saving…")
        else:
            self.stop_playing()  # or the microphone would record it from the speakers
            self.takes += 1
            self.listener.begin(self.takes, self.pause_box.isChecked())
            self.recording = True
            self.take_index = self.index
            self.note_label.setText("")
            self.state_label.setText(self._recording_text(0))
            self.take_clock.start()
            self.clock_timer.start()
        self._update()

    def _tick(self) -> None:
        if not self.recording:
            self.clock_timer.stop()
            return
        if self.state_label.text().startswith("Recording"):
            self.state_label.setText(self._recording_text(self.take_clock.elapsed() / 1000))

    def _recording_text(self, seconds: float) -> str:
        end = ("it stops when you pause, or press Stop (R)" if self.pause_box.isChecked()
               else "then press Stop (R)")
        return f"Recording… {seconds:.0f} s. Read the sentence; {end}."

    def _on_take(self, number: int, samples: np.ndarray) -> None:
        if not self.recording or number != self.takes:  # dropped meanwhile
            return
        self.recording = False
        keep, advice = check_take(samples)
        if keep:
            take = trimmed(samples)
            try:
                self.set.save(self.take_index, take)
            except VivavoceError as error:
                self.show_message(str(error))
                self._update()
                return
            if self.set_box.findText(self.set.name) < 0:
                self.set_box.addItem(self.set.name)
            saved = f"Saved sentence {self.take_index + 1} ({len(take) / SAMPLE_RATE:.1f} s)."
            if len(samples) >= MAX_TAKE_SECONDS * SAMPLE_RATE:
                advice = (f"Recording stops by itself after {MAX_TAKE_SECONDS:.0f} s, the longest a training "
                          "recording can be: if the sentence was cut, record it again.")
            self._note(f"{saved} {advice}" if advice else saved)
            if not advice:
                following = self.set.next_unrecorded(self.take_index)
                if following is not None:
                    self.go(following)
        else:
            self._note(advice)
        self.state_label.setText(LISTENING)
        self._update()

    def _note(self, text: str) -> None:
        """Say how the take went, under the buttons and to a screen reader."""
        self.note_label.setText(text)
        QAccessible.updateAccessibility(QAccessibleAnnouncementEvent(self.note_label, text))

    def delete(self) -> None:
        """Delete the shown sentence's recording (a take that should not be trained on)."""
        if self.set is None or not self.set.recorded(self.index) or self.recording:
            return
        try:
            self.set.delete(self.index)
        except VivavoceError as error:
            self.show_message(str(error))
            return
        self._note(f"Deleted the recording of sentence {self.index + 1}.")
        self._update()

    def play(self) -> None:
        if self.set is None or not self.set.recorded(self.index) or self.recording:
            return
        try:
            import sounddevice
            import soundfile

            samples, rate = soundfile.read(str(self.set.audio(self.index)), dtype="float32")
            sounddevice.play(samples, rate)
            self.playing = True
        except Exception as error:  # noqa: BLE001 - PortAudio's and libsndfile's errors, said in one line
            self.show_message(f"cannot play {self.set.audio(self.index)}: {error}")

    # -- sentences and training -----------------------------------------------------

    def _own_sentences(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Sentences to read (one a line)", "", "Text (*.txt);;All files (*)")
        if path:
            self.add_sentences(Path(path))

    def add_sentences(self, path: Path) -> None:
        try:
            sentences = read_sentences(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as error:
            self.show_message(f"cannot read sentences from {path}: {getattr(error, 'strerror', None) or error}")
            return
        if not sentences:
            self.show_message(f"{path} has no sentences (one a line; lines starting with # are skipped).")
            return
        had = bool(self.set.recorded_indices())
        try:
            added = self.set.add_sentences(sentences)
        except VivavoceError as error:
            self.show_message(str(error))
            return
        self.show_message(f"Added {added} sentences from {path.name} after the {len(self.set.sentences) - added} "
                          "the set had." if had else f"This set now reads the {added} sentences of {path.name}.",
                          "info")
        self.go(self.set.next_unrecorded() or 0)

    def _train(self) -> None:
        if self.set is not None and self.set.recorded_indices():
            self.train_requested.emit(str(self.set.folder), self.set.name)

    # -- messages and the window --------------------------------------------------------

    def show_message(self, text: str, kind: str = "error") -> None:
        self.banner.show_message(text, kind)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.listener is None:
            self.start_listening()

    def stop_playing(self) -> None:
        if self.playing:
            import sounddevice

            sounddevice.stop()
            self.playing = False

    def closeEvent(self, event) -> None:
        """Closing stops recording (an unfinished take is dropped), playback, and the microphone."""
        self.stop_playing()
        self.stop_listening()
        self.settings.set("recorder/geometry", self.saveGeometry())
        self._update()
        super().closeEvent(event)
