"""The transcript panel: every final caption with its time; search, copy, export, earlier sessions."""

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFileDialog, QHBoxLayout, QLabel,
                               QLineEdit, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout,
                               QWidget)

from engine.errors import VivavoceError
from engine.formats import timestamp
from engine.transcripts import Line, export, list_transcripts, read_transcript, render_lines

CURRENT = "This session"


def line_label(line: Line) -> str:
    return f"[{timestamp(line.start, '.')[:-4]}]  {line.text}"


class TranscriptPanel(QWidget):
    failed = Signal(str)  # a transcript that cannot be read or written, in one line
    exported = Signal(str)  # the path written

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.current: list[Line] = []
        self.viewed: list[Line] | None = None  # an earlier transcript, or None for this session's
        self.session = QComboBox()
        self.session.setAccessibleName("Transcript shown")
        self.session.setAccessibleDescription("This session's captions, or an earlier session's")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search the transcript")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search the transcript")
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setAccessibleName("Transcript")
        self.list.setAccessibleDescription("Every final caption with the time it was spoken")
        self.matches = QLabel()
        self.copy_button = QPushButton("&Copy")
        self.copy_button.setAccessibleDescription("Copy the selected lines, or all of them, to the clipboard")
        self.export_button = QPushButton("&Export…")
        self.export_button.setAccessibleDescription("Save the transcript as text, SRT or WebVTT subtitles")

        buttons = QHBoxLayout()
        buttons.addWidget(self.matches, 1)
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.session)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self.setTabOrder(self.session, self.search)
        self.setTabOrder(self.search, self.list)
        self.setTabOrder(self.list, self.copy_button)
        self.setTabOrder(self.copy_button, self.export_button)

        self.search.textChanged.connect(self._filter)
        self.copy_button.clicked.connect(self.copy)
        self.export_button.clicked.connect(self.ask_export)
        self.session.activated.connect(self._choose_session)
        self.refresh_sessions()

    # -- content ----------------------------------------------------------------

    def shown(self) -> list[Line]:
        return self.current if self.viewed is None else self.viewed

    def start_session(self) -> None:
        """A new session begins: the panel shows it, empty."""
        self.current = []
        self.viewed = None
        self.refresh_sessions()
        self._fill()

    def add_line(self, line: Line) -> None:
        self.current.append(line)
        if self.viewed is None:
            item = self._item(line)
            self.list.addItem(item)
            item.setHidden(not self._matches(line))
            if not item.isHidden() and not self.list.selectedItems():
                self.list.scrollToBottom()
            self._count()

    def clear_current(self) -> None:
        self.current = []
        if self.viewed is None:
            self._fill()

    def refresh_sessions(self) -> None:
        """Read the list of saved sessions again; the one shown stays chosen."""
        chosen = self.session.currentData()
        self.session.clear()
        self.session.addItem(CURRENT, None)
        for path in list_transcripts():
            self.session.addItem(path.stem.replace("_", " "), str(path))
        if chosen is not None:
            index = self.session.findData(chosen)
            if index < 0:  # no longer in the folder, still on screen
                self.session.addItem(Path(chosen).stem, chosen)
                index = self.session.count() - 1
            self.session.setCurrentIndex(index)

    def open_transcript(self, path: str | Path) -> None:
        try:
            saved = read_transcript(path)
        except VivavoceError as error:
            self.failed.emit(str(error))
            return
        self.viewed = saved.lines
        index = self.session.findData(str(path))
        if index < 0:
            self.session.addItem(Path(path).stem, str(path))
            index = self.session.count() - 1
        self.session.setCurrentIndex(index)
        self._fill()

    def _choose_session(self, index: int) -> None:
        path = self.session.itemData(index)
        if path is None:
            self.viewed = None
            self._fill()
        else:
            self.open_transcript(path)

    # -- search, copy, export ---------------------------------------------------

    def _matches(self, line: Line) -> bool:
        query = self.search.text().strip().lower()
        return not query or query in line.text.lower()

    def _filter(self) -> None:
        for row, line in enumerate(self.shown()):
            self.list.item(row).setHidden(not self._matches(line))
        self._count()

    def _count(self) -> None:
        lines = self.shown()
        visible = sum(self._matches(line) for line in lines)
        self.matches.setText(f"{visible} of {len(lines)} lines" if self.search.text().strip()
                             else f"{len(lines)} lines")

    def selected_lines(self) -> list[Line]:
        """The selected lines, or every line the search shows."""
        lines = self.shown()
        rows = sorted(self.list.row(item) for item in self.list.selectedItems())
        return [lines[r] for r in rows] if rows else [line for line in lines if self._matches(line)]

    def copy(self) -> str:
        text = render_lines(self.selected_lines(), "txt")
        QGuiApplication.clipboard().setText(text)
        return text

    def export_to(self, path: str | Path) -> bool:
        try:
            export(self.shown(), path)
        except VivavoceError as error:
            self.failed.emit(str(error))
            return False
        self.exported.emit(str(path))
        return True

    def ask_export(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export the transcript", str(Path.home() / "captions.srt"),
            "SubRip subtitles (*.srt);;WebVTT subtitles (*.vtt);;Text with times (*.txt)")
        if not path:
            return
        if not Path(path).suffix:
            path += "." + chosen.split("*.")[-1].rstrip(")")
        self.export_to(path)

    # -- list -------------------------------------------------------------------

    def _item(self, line: Line) -> QListWidgetItem:
        item = QListWidgetItem(line_label(line))
        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
        return item

    def _fill(self) -> None:
        self.list.clear()
        for line in self.shown():
            item = self._item(line)
            self.list.addItem(item)
            item.setHidden(not self._matches(line))
        self.list.scrollToBottom()
        self._count()
