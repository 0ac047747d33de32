"""Practise pronunciation: read a sentence, and see which words and sounds were wrong.

The learner picks a sentence (or types their own) and an accent, may hear it read by
espeak-ng, records it (the microphone stays open, as in the recorder, and a take ends
after a pause) or opens a recording, and gets a score per word and per sound from
`engine.pronounce`: the sentence is shown again with the wrong words marked, and a table
gives each word's sounds with their scores and, for a wrong one, the sound that was heard
instead. Scoring runs on a worker thread; the model is loaded once.
"""

import threading
from html import escape
from importlib import resources

import numpy as np
from PySide6.QtCore import QThread, Qt, Signal
from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent, QColor, QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFileDialog, QFormLayout, QFrame, QHBoxLayout,
                               QHeaderView, QLabel, QProgressBar, QPushButton, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from engine.errors import VivavoceError
from engine.phonemes import ACCENTS, DEFAULT_ACCENT
from training.recording_set import SAMPLE_RATE, check_take, read_sentences, trimmed

from .banner import MessageBanner
from .microphones import fill_microphones
from .recorder_window import Listener, Listening
from .settings import Settings

GOOD_COLOR, BAD_COLOR = "#1b7a33", "#c0262d"
READY = "Press Record (R) and read the sentence; recording stops when you pause."


def practice_sentences() -> list[str]:
    """The bundled practice sentences (assets/prompts/practice-en.txt)."""
    text = resources.files("assets").joinpath("prompts", "practice-en.txt").read_text(encoding="utf-8")
    return read_sentences(text)


def marked_sentence(text: str, good: list[bool]) -> str:
    """``text`` as HTML, with the words not ``good`` (in order of the words that hold a letter or digit) in red."""
    out, index = [], 0
    for token in text.split():
        if any(c.isalnum() for c in token) and index < len(good):
            if not good[index]:
                token_html = f"<span style='color:{BAD_COLOR}; text-decoration: underline'>{escape(token)}</span>"
            else:
                token_html = escape(token)
            index += 1
        else:
            token_html = escape(token)
        out.append(token_html)
    return " ".join(out)


class ScoringJob(QThread):
    """Scores one take on a worker thread; the scorer (model loaded) is kept for the next job."""

    scored = Signal(object)  # engine.pronounce.Assessment
    failed = Signal(str)

    _lock = threading.Lock()
    _scorers: dict = {}  # (model name or None, accent) -> PronunciationScorer
    _warnings: list[str] = []  # what the recogniser said since the last job (a GPU out of memory)

    def __init__(self, model: str | None, accent: str, samples: np.ndarray | None, text: str, file: str = "",
                 parent=None):
        super().__init__(parent)
        self.model, self.accent, self.samples, self.text, self.file = model, accent, samples, text, file

    def run(self) -> None:
        try:
            if self.samples is None:
                from engine.audio import load_audio

                self.samples = load_audio(self.file)
            with ScoringJob._lock:
                result = self._scorer().assess(self.samples, self.text, self.file)
                result.warnings[:0] = ScoringJob._warnings
                ScoringJob._warnings.clear()
            self.scored.emit(result)
        except VivavoceError as error:
            self.failed.emit(str(error))
        except Exception as error:  # noqa: BLE001 - the window must say that scoring failed, and why
            self.failed.emit(f"scoring failed: {type(error).__name__}: {error}")

    def _scorer(self):
        key = (self.model, self.accent)
        if key not in ScoringJob._scorers:
            from engine.device import resolve_device
            from engine.pronounce import PronunciationScorer
            from engine.recognizer import Recognizer
            from engine.store import load_phoneme_model

            recognizer = Recognizer(load_phoneme_model(self.model), resolve_device("auto"),
                                    on_warning=ScoringJob._warnings.append)
            ScoringJob._scorers = {key: PronunciationScorer(recognizer, self.accent)}  # one model in memory
        return ScoringJob._scorers[key]


class PracticeWindow(Listening, QWidget):
    """Models ▸ Practise pronunciation."""

    def __init__(self, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Practise pronunciation — Vivavoce")
        self.settings = settings
        self.listener: Listener | None = None
        self.job: ScoringJob | None = None
        self.ready = self.recording = False
        self.takes = 0
        self.take: np.ndarray | None = None  # the last take, 16 kHz, to play back
        self.result = None
        self.banner = MessageBanner(self)
        self._build()
        self._restore()

    # -- layout -------------------------------------------------------------------------

    def _build(self) -> None:
        self.sentence_box = QComboBox()
        self.sentence_box.setEditable(True)
        self.sentence_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.sentence_box.setAccessibleName("Sentence to practise")
        self.sentence_box.setToolTip("Choose a sentence, or type your own")
        self.sentence_box.addItems(practice_sentences())
        self.accent_box = QComboBox()
        self.accent_box.setAccessibleName("Accent")
        for code, name in ACCENTS.items():
            self.accent_box.addItem(name, code)
        self.model_box = QComboBox()
        self.model_box.setAccessibleName("Phoneme model")
        self.device_box = QComboBox()
        self.device_box.setAccessibleName("Microphone")
        form = QFormLayout()
        for text, field in (("&Sentence:", self.sentence_box), ("&Accent:", self.accent_box),
                            ("M&odel:", self.model_box), ("&Microphone:", self.device_box)):
            label = QLabel(text)
            label.setBuddy(field)
            form.addRow(label, field)

        self.sentence_label = QLabel()
        self.sentence_label.setWordWrap(True)
        self.sentence_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.sentence_label.setTextFormat(Qt.TextFormat.RichText)
        self.sentence_label.setAccessibleName("The sentence, with the words to work on marked")
        font = QFont(self.sentence_label.font())
        font.setPointSizeF(font.pointSizeF() * 1.8)
        self.sentence_label.setFont(font)
        self.sentence_label.setMinimumHeight(90)
        self.sentence_frame = QFrame()
        self.sentence_frame.setObjectName("sentence")
        QVBoxLayout(self.sentence_frame).addWidget(self.sentence_label)

        self.level_bar = QProgressBar()
        self.level_bar.setRange(0, 100)
        self.level_bar.setTextVisible(False)
        self.level_bar.setMaximumHeight(14)
        self.level_bar.setAccessibleName("Microphone level")
        self.state_label = QLabel("Opening the microphone…")
        self.state_label.setAccessibleName("State")

        self.hear_button = QPushButton("&Hear it")
        self.hear_button.setAccessibleDescription("Hear the sentence read in the chosen accent (a synthetic voice)")
        self.record_button = QPushButton("● &Record")
        self.record_button.setMinimumWidth(140)
        self.play_button = QPushButton("▶ &Play my take")
        self.open_button = QPushButton("Score a &file…")
        self.open_button.setAccessibleDescription("Score a recording of the sentence from a file")
        buttons = QHBoxLayout()
        for button in (self.hear_button, self.record_button, self.play_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)

        self.score_label = QLabel()
        self.score_label.setAccessibleName("Score")
        score_font = QFont(self.score_label.font())
        score_font.setPointSizeF(score_font.pointSizeF() * 1.4)
        score_font.setBold(True)
        self.score_label.setFont(score_font)
        self.heard_label = QLabel()
        self.heard_label.setWordWrap(True)
        self.heard_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.heard_label.setAccessibleName("What the model heard")
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Word", "Score", "Sounds (a wrong one shows what was heard instead)"])
        self.table.setAccessibleName("Scores of each word and sound")
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)

        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addLayout(form)
        layout.addWidget(self.sentence_frame)
        layout.addWidget(self.level_bar)
        layout.addWidget(self.state_label)
        layout.addLayout(buttons)
        layout.addWidget(self.score_label)
        layout.addWidget(self.heard_label)
        layout.addWidget(self.table, 1)

        self.sentence_box.currentTextChanged.connect(lambda _text: self._sentence_changed())
        self.accent_box.activated.connect(lambda *_: self._accent_chosen())
        self.model_box.activated.connect(
            lambda *_: self.settings.set("practice/model", self.model_box.currentData()))
        self.device_box.activated.connect(lambda *_: self._device_chosen())
        self.hear_button.clicked.connect(self.hear)
        self.record_button.clicked.connect(self.toggle_recording)
        self.play_button.clicked.connect(self.play)
        self.open_button.clicked.connect(self._ask_file)
        for key, slot in (("R", self.toggle_recording), ("H", self.hear), ("Ctrl+P", self.play),
                          ("Ctrl+O", self._ask_file)):
            QShortcut(QKeySequence(key), self, slot)

    def _restore(self) -> None:
        s = self.settings
        geometry = s.geometry("practice/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(820, 640)
        fill_microphones(self.device_box, s.get("recorder/input_device", None, kind=None))
        accent = self.accent_box.findData(s.get("practice/accent", DEFAULT_ACCENT))
        self.accent_box.setCurrentIndex(max(0, accent))
        self.fill_models(s.get("practice/model", None, kind=None))
        sentence = s.get("practice/sentence", "")
        if sentence:
            self.sentence_box.setEditText(sentence)
        self._sentence_changed()

    def fill_models(self, chosen: str | None = None) -> None:
        """The installed phoneme models; a banner when there is none."""
        from engine.store import phoneme_models

        self.model_box.clear()
        for entry in phoneme_models():
            self.model_box.addItem(entry.name + (" (bundled)" if entry.bundled else ""), entry.name)
        if chosen is not None and self.model_box.findData(chosen) >= 0:
            self.model_box.setCurrentIndex(self.model_box.findData(chosen))
        if not self.model_box.count():
            self.show_message("No phoneme model is installed, and scoring pronunciation needs one: import or "
                              "train one (Models ▸ Manage models).")
        self._update()

    # -- state --------------------------------------------------------------------------

    @property
    def text(self) -> str:
        return " ".join(self.sentence_box.currentText().split())

    @property
    def accent(self) -> str:
        return self.accent_box.currentData() or DEFAULT_ACCENT

    @property
    def listening(self) -> bool:
        return self.ready and self.listener is not None and self.listener.isRunning()

    @property
    def scoring(self) -> bool:
        return self.job is not None and self.job.isRunning()

    def _update(self) -> None:
        edge = "#d03030" if self.recording else "palette(mid)"
        self.sentence_frame.setStyleSheet(f"#sentence {{ background: palette(base); border: 2px solid {edge}; "
                                          "border-radius: 8px; }")
        can_score = bool(self.text) and self.model_box.count() > 0 and not self.scoring
        self.record_button.setText("■ &Stop" if self.recording else "● &Record")
        self.record_button.setEnabled(self.recording or (self.listening and can_score))
        self.open_button.setEnabled(can_score and not self.recording)
        self.play_button.setEnabled(self.take is not None and not self.recording)
        self.hear_button.setEnabled(bool(self.text) and not self.recording)
        for widget in (self.sentence_box, self.accent_box, self.model_box, self.device_box):
            widget.setEnabled(not self.recording and not self.scoring)

    def _sentence_changed(self) -> None:
        self.settings.set("practice/sentence", self.text)
        self.sentence_label.setText(escape(self.text))
        self._clear_result()
        self._update()

    def _accent_chosen(self) -> None:
        self.settings.set("practice/accent", self.accent)
        self._clear_result()

    def _clear_result(self) -> None:
        self.result = None
        self.score_label.setText("")
        self.heard_label.setText("")
        self.table.setRowCount(0)

    # -- the microphone (opened and closed by `Listening`) ----------------------------------

    def _on_ready(self) -> None:
        self.ready = True
        self.state_label.setText(READY)
        self._update()

    def _on_failed(self, text: str) -> None:
        self.ready = self.recording = False
        self.state_label.setText("The microphone is not recording. You can still score a file.")
        self.show_message(f"{text}. Choose another microphone above to try again.")
        self._update()

    def toggle_recording(self) -> None:
        if self.listener is None:
            return
        if self.recording:
            self.listener.end()
            self.state_label.setText("Scoring…")
        elif self.record_button.isEnabled():
            self.stop_playing()
            self.takes += 1
            self.listener.begin(self.takes, stop_after_pause=True)
            self.recording = True
            self._clear_result()
            self.state_label.setText("Recording… read the sentence; it stops when you pause, or press Stop (R).")
        self._update()

    def _on_take(self, number: int, samples: np.ndarray) -> None:
        if not self.recording or number != self.takes:
            return
        self.recording = False
        keep, advice = check_take(samples)
        if not keep:
            self.state_label.setText(READY)
            self.show_message(advice, "warning")
            self._update()
            return
        self.take = trimmed(samples)
        if advice:
            self.show_message(advice, "warning")
        self.score(self.take)

    # -- scoring --------------------------------------------------------------------------

    def _ask_file(self) -> None:
        if not self.open_button.isEnabled():
            return
        path, _ = QFileDialog.getOpenFileName(self, "A recording of the sentence", "",
                                              "Audio (*.wav *.flac *.ogg *.mp3);;All files (*)")
        if path:
            self.score_file(path)

    def score_file(self, path: str) -> None:
        """Score the recording in ``path`` (read on the worker thread: reading audio loads torch)."""
        self.score(None, path)

    def score(self, samples: np.ndarray | None, file: str = "") -> None:
        """Score ``samples`` (16 kHz; None: the audio of ``file``) as a reading of the sentence shown."""
        if self.scoring or not self.model_box.count():
            return
        if self.banner.kind == "error":
            self.banner.hide()
        self.state_label.setText("Scoring…")
        self.job = ScoringJob(self.model_box.currentData(), self.accent, samples, self.text, file, self)
        self.job.scored.connect(self._on_scored)
        self.job.failed.connect(self._on_score_failed)
        self.job.finished.connect(self._update)
        self.job.start()
        self._update()

    def _on_score_failed(self, text: str) -> None:
        self.state_label.setText(READY if self.listening else "")
        self.show_message(text)

    def _on_scored(self, result) -> None:
        self.result = result
        self.take = self.job.samples  # a file's audio, read by the job, can be played back too
        self.state_label.setText(READY if self.listening else "")
        words = result.words
        right = sum(w.good for w in words)
        self.score_label.setText(f"Score {result.score:.0f} / 100 — {right} of {len(words)} words right")
        self.heard_label.setText(f"Heard: {result.heard or '(nothing)'}")
        self.sentence_label.setText(marked_sentence(result.text, [w.good for w in words]))
        self.table.setRowCount(len(words))
        for row, word in enumerate(words):
            color = QColor(GOOD_COLOR if word.good else BAD_COLOR)
            mark = "✓" if word.good else "✗"
            for column, text in enumerate([f"{mark} {word.text}", f"{word.score:.0f}"]):
                item = QTableWidgetItem(text)
                item.setForeground(color)
                item.setToolTip(self._sounds_text(word))
                self.table.setItem(row, column, item)
            # The sounds, the wrong ones in red; the cell's own text is what a screen reader says.
            item = QTableWidgetItem()
            item.setData(Qt.ItemDataRole.AccessibleTextRole, self._sounds_text(word))
            item.setToolTip(self._sounds_text(word))
            self.table.setItem(row, 2, item)
            label = QLabel(self._sounds_html(word))
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setContentsMargins(6, 0, 6, 0)
            self.table.setCellWidget(row, 2, label)
        for warning in result.warnings:
            self.show_message(warning, "warning")
        wrong = [w.text for w in words if not w.good]
        self._say(f"Score {result.score:.0f}. " + (f"Work on: {', '.join(wrong)}." if wrong else "Every word was right."))
        self._update()

    @staticmethod
    def _sounds_html(word) -> str:
        parts = []
        for sound in word.sounds:
            if sound.good:
                parts.append(f"{escape(sound.phoneme)} <small>{sound.score:.0f}</small>")
            else:
                instead = (" left out" if sound.heard == "-" else f" heard {escape(sound.heard)}" if sound.heard
                           else "")
                parts.append(f"<b style='color:{BAD_COLOR}'>{escape(sound.phoneme)} <small>{sound.score:.0f}</small>"
                             f" ✗{instead}</b>")
        if word.unscored:
            parts.append(f"<i>(not scored: {escape(' '.join(word.unscored))})</i>")
        return "&nbsp;&nbsp;&nbsp; ".join(parts)

    @staticmethod
    def _sounds_text(word) -> str:
        parts = []
        for sound in word.sounds:
            part = f"{sound.phoneme} {sound.score:.0f}"
            if not sound.good:
                part += f" ✗ heard {sound.heard}" if sound.heard and sound.heard != "-" else (
                    " ✗ left out" if sound.heard == "-" else " ✗")
            parts.append(part)
        if word.unscored:
            parts.append(f"(not scored: {' '.join(word.unscored)})")
        return "   ".join(parts)

    # -- sound out ------------------------------------------------------------------------

    def hear(self) -> None:
        if not self.hear_button.isEnabled():
            return
        from engine.phonemes import speak

        try:
            import sounddevice

            samples, rate = speak(self.text, self.accent)
            self.stop_playing()
            sounddevice.play(samples, rate)
        except VivavoceError as error:
            self.show_message(str(error))
        except Exception as error:  # noqa: BLE001 - PortAudio's errors, said in one line
            self.show_message(f"cannot play the sentence: {error}")

    def play(self) -> None:
        if self.take is None or self.recording:
            return
        try:
            import sounddevice

            sounddevice.play(self.take, SAMPLE_RATE)
        except Exception as error:  # noqa: BLE001 - PortAudio's errors, said in one line
            self.show_message(f"cannot play the take: {error}")

    def stop_playing(self) -> None:
        try:
            import sounddevice

            sounddevice.stop()
        except Exception:  # noqa: BLE001 - nothing was playing, or there is no audio output
            pass

    # -- messages and the window ------------------------------------------------------------

    def _say(self, text: str) -> None:
        """Tell a screen reader (the score is on screen already)."""
        QAccessible.updateAccessibility(QAccessibleAnnouncementEvent(self.score_label, text))

    def show_message(self, text: str, kind: str = "error") -> None:
        self.banner.show_message(text, kind)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.listener is None:
            self.start_listening()

    def closeEvent(self, event) -> None:
        self.stop_playing()
        self.stop_listening()
        if self.job is not None:
            self.job.wait()
        self.settings.set("practice/geometry", self.saveGeometry())
        super().closeEvent(event)
