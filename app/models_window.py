"""The models window: the installed and bundled models with their cards; import, download, remove,
test, use for captions.

A face on `vivavoce models list|import|download|remove` and `vivavoce train
evaluate`. Importing, downloading and testing load the model (torch) or wait on
the network, so they run as those commands in a child process (app/child.py),
which can be cancelled; listing and removing read only the folders.
"""

import json
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QInputDialog, QLabel, QListWidget, QListWidgetItem,
                               QMessageBox, QPlainTextEdit, QProgressBar, QPushButton, QSplitter, QTextBrowser,
                               QVBoxLayout, QWidget)

from engine.errors import VivavoceError
from engine.modelfolder import CARD

from .banner import MessageBanner
from .child import Child
from .settings import Settings

KINDS = {
    "ctc": "transcribes speech",
    "phoneme": "transcribes phonemes (for pronunciation practice)",
    "pretrained": "pretrained only: fine-tune it before it can transcribe",
}


class ModelsWindow(QWidget):
    """The model store, browsable; ``changed`` after an import or a removal, ``use`` to caption with a model."""

    changed = Signal()
    use = Signal(str)

    def __init__(self, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.Window)
        self.settings = settings
        self.child: Child | None = None
        self.entries: dict = {}  # name -> engine.store.ModelEntry, as listed
        self.importing = ""  # the name being imported
        self.testing = ""  # the name being tested
        self.downloading = ""  # the Hub model being downloaded
        self.tested_on = ""  # and the folder
        self.cancelled = False
        self.setWindowTitle("Models – Vivavoce")
        self.setAccessibleName("Models")
        self.banner = MessageBanner()

        self.list = QListWidget()
        self.list.setAccessibleName("Models")
        self.list.setMinimumWidth(240)
        self.card = QTextBrowser()
        self.card.setOpenExternalLinks(True)
        self.card.setAccessibleName("Model card")
        self.results = QPlainTextEdit()  # every test of this session, the latest last
        self.results.setReadOnly(True)
        self.results.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.results.setAccessibleName("Test results")
        self.results.hide()
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.card)
        right.addWidget(self.results)
        right.setStretchFactor(0, 2)
        right.setStretchFactor(1, 1)
        splitter = QSplitter()
        splitter.addWidget(self.list)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)

        self.import_button = QPushButton("&Import a model folder…")
        self.import_button.setAccessibleDescription("Install a Vivavoce or Hugging Face wav2vec 2.0 model folder")
        self.download_button = QPushButton("&Download…")
        self.download_button.setToolTip("Download a public wav2vec 2.0 model from the Hugging Face Hub, such as "
                                        "facebook/wav2vec2-base-960h (an interrupted download resumes)")
        self.remove_button = QPushButton("&Remove…")
        self.use_button = QPushButton("&Use for captions")
        self.use_button.setAccessibleDescription("Choose this model in the caption window")
        self.test_button = QPushButton("&Test on recordings…")
        self.test_button.setToolTip("Transcribe a folder of recordings with transcripts and measure the "
                                    "character and word error rates (vivavoce train evaluate)")
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # a model is read and written in one go: no steps to count
        self.busy.setAccessibleName("Import, download or test in progress")
        self.cancel_button = QPushButton("&Cancel import")
        buttons = QHBoxLayout()
        for widget in (self.import_button, self.download_button, self.remove_button, self.test_button,
                       self.use_button):
            buttons.addWidget(widget)
        buttons.addWidget(self.busy, 1)
        buttons.addWidget(self.cancel_button)
        self.store_label = QLabel()
        self.store_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(splitter, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.store_label)

        self.list.currentItemChanged.connect(lambda *_: self._show_current())
        self.import_button.clicked.connect(self.ask_import)
        self.download_button.clicked.connect(self.ask_download)
        self.remove_button.clicked.connect(self.ask_remove)
        self.use_button.clicked.connect(self._use)
        self.cancel_button.clicked.connect(self.cancel_import)
        self.test_button.clicked.connect(self.ask_test)
        geometry = settings.geometry("models/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(900, 560)
        self.refresh()

    # -- the list ---------------------------------------------------------------

    def refresh(self, select: str | None = None) -> None:
        """List the models again, keeping (or moving to ``select``) the selection."""
        from engine.store import list_models, models_dir

        current = select or self.current_name()
        self.list.clear()
        self.entries = {entry.name: entry for entry in list_models()}
        for entry in self.entries.values():
            item = QListWidgetItem(entry.name + ("  (bundled)" if entry.bundled else ""))
            item.setData(Qt.ItemDataRole.UserRole, entry.name)
            item.setToolTip(entry.summary)
            self.list.addItem(item)
        names = list(self.entries)
        self.list.setCurrentRow(names.index(current) if current in names else 0 if names else -1)
        self.store_label.setText(f"Installed models are kept in {models_dir()}")
        self._show_current()

    def current_name(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def _show_current(self) -> None:
        from engine.store import folder_size

        entry = self.entries.get(self.current_name())
        if entry is None:
            self.card.setMarkdown("No models are installed. Import a model folder, or train one "
                                  "(Models ▸ Train a model).")
        else:
            config = entry.config
            facts = [f"**{KINDS.get(config.kind, config.kind)}**",
                     f"language: {config.language or 'not given'}",
                     f"{folder_size(entry.path) / 1e6:.1f} MB",
                     "with a language model for its beam search" if config.language_model else "",
                     "bundled with Vivavoce" if entry.bundled else f"in `{entry.path}`"]
            try:
                card = (entry.path / CARD).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                card = f"# {entry.name}\n\nThis model has no model card."
            self.card.setMarkdown(" · ".join(f for f in facts if f) + "\n\n" + card)
        self._update_controls()

    def _update_controls(self) -> None:
        entry = self.entries.get(self.current_name())
        importing = self.child is not None
        self.import_button.setEnabled(not importing)
        self.download_button.setEnabled(not importing)
        self.remove_button.setEnabled(entry is not None and not entry.bundled and not importing)
        self.remove_button.setToolTip("A bundled model cannot be removed" if entry is not None and entry.bundled
                                      else "Delete this model from the disk")
        self.use_button.setEnabled(entry is not None and entry.config.kind == "ctc")
        self.test_button.setEnabled(entry is not None and entry.config.kind == "ctc" and not importing)
        self.busy.setVisible(importing)
        self.cancel_button.setVisible(importing)
        self.cancel_button.setText("&Cancel test" if self.testing else
                                   "&Cancel download" if self.downloading else "&Cancel import")
        if not importing:
            self.busy.setRange(0, 0)

    def _use(self) -> None:
        name = self.current_name()
        if name:
            self.use.emit(name)

    # -- import -----------------------------------------------------------------

    def ask_import(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import a model folder",
                                                  self.settings.get("models/import_from", str(Path.home())))
        if not folder:
            return
        self.settings.set("models/import_from", str(Path(folder).parent))
        name, ok = QInputDialog.getText(self, "Import a model", "Install it under the name:", text=Path(folder).name)
        if ok:
            self.import_folder(folder, name.strip())

    def import_folder(self, folder: str, name: str) -> None:
        """Install the model folder ``folder`` as ``name``, in a child process."""
        from engine.store import check_name

        if self.child is not None:
            return
        if not Path(folder).is_dir():
            self.show_message(f"{folder}: no such folder.")
            return
        try:
            check_name(name, "name")
        except VivavoceError as error:
            self.show_message(f"{error}.")
            return
        self.banner.hide()
        self.importing, self.cancelled = name, False
        self.child = Child(["models", "import", str(folder), "--name", name], parent=self)
        self.child.finished.connect(self._on_imported)
        self.busy.setFormat(f"Importing {name}…")
        self.child.start()
        self._update_controls()

    def cancel_import(self) -> None:
        if self.child is not None:
            self.cancelled = True
            self.child.process.kill()  # the store's writes are atomic: nothing half-made is left to see

    def _on_imported(self, code: int) -> None:
        from engine.store import remove_leftovers

        child, name, repo = self.child, self.importing, self.downloading
        self.child, self.downloading = None, ""
        child.deleteLater()
        what = "download" if repo else "import"
        if code == 0:
            self.refresh(select=name)
            self.show_message(f"Installed {name}" + (f", downloaded from {repo}." if repo else "."), "info")
            self.changed.emit()
        elif self.cancelled:
            remove_leftovers(name)
            self.show_message(f"The {what} of {name} was cancelled; nothing was installed."
                              + (" Downloading it again goes on from where it stopped." if repo else ""), "info")
        else:
            line = child.error_line() or (child.lines[-1] if child.lines else f"exit code {code}")
            self.show_message(f"The {what} failed: {line}" + ("" if line.endswith(".") else "."))
        self._update_controls()

    # -- download ---------------------------------------------------------------

    def ask_download(self) -> None:
        from engine.download import default_name

        repo, ok = QInputDialog.getText(self, "Download a model",
                                        "The model's name on the Hugging Face Hub (owner/name):",
                                        text=self.settings.get("models/download", "facebook/wav2vec2-base-960h"))
        repo = repo.strip()
        if not ok or not repo:
            return
        self.settings.set("models/download", repo)
        name, ok = QInputDialog.getText(self, "Download a model", "Install it under the name:",
                                        text=default_name(repo))
        if ok:
            self.download(repo, name.strip())

    def download(self, repo: str, name: str) -> None:
        """Download ``repo`` from the Hub and install it as ``name``, in a child process."""
        from engine.download import check_repo
        from engine.store import check_name

        if self.child is not None:
            return
        try:
            check_repo(repo)
            check_name(name, "name")
        except VivavoceError as error:
            self.show_message(f"{error}.")
            return
        self.banner.hide()
        self.importing, self.downloading, self.cancelled = name, repo, False
        self.child = Child(["models", "download", repo, "--name", name, "--progress", "json"], parent=self)
        self.child.output.connect(self._on_download_progress)
        self.child.finished.connect(self._on_imported)
        self.busy.setFormat(f"Downloading {repo}…")
        self.child.start()
        self._update_controls()

    def _on_download_progress(self, line: str) -> None:
        try:
            progress = json.loads(line)
            received, total = int(progress["received"]), progress["total"]
        except (ValueError, KeyError, TypeError):
            return  # another line: a warning, or the error at the end
        megabytes = received / 1e6
        if total:
            self.busy.setRange(0, 1000)
            self.busy.setValue(min(1000, round(1000 * received / total)))
            self.busy.setFormat(f"Downloading {self.downloading}: {megabytes:.0f} of {total / 1e6:.0f} MB")
        else:
            self.busy.setFormat(f"Downloading {self.downloading}: {megabytes:.0f} MB")

    # -- test -------------------------------------------------------------------

    def ask_test(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Recordings with transcripts to test on",
                                                  self.settings.get("models/test_on", str(Path.home())))
        if folder:
            self.settings.set("models/test_on", folder)
            self.test_on(folder)

    def test_on(self, folder: str) -> None:
        """Measure the selected model's error rates on ``folder``, in a child process."""
        name = self.current_name()
        if self.child is not None or not name:
            return
        if not Path(folder).is_dir():
            self.show_message(f"{folder}: no such folder.")
            return
        self.banner.hide()
        self.testing, self.cancelled = name, False
        self.tested_on = folder
        self.child = Child(["train", "evaluate", "--model", name, "--data", str(folder), "--worst", "10"],
                           parent=self)
        self.child.finished.connect(self._on_tested)
        self.busy.setFormat(f"Testing {name} on {Path(folder).name}…")
        self.child.start()
        self._update_controls()

    def _on_tested(self, code: int) -> None:
        child, name, folder = self.child, self.testing, self.tested_on
        self.child, self.testing = None, ""
        child.deleteLater()
        lines = list(child.lines)
        # The report starts "model NAME (DECODER): N recordings, CER x%, WER y%" (training/evaluate.py).
        start = next((i for i, line in enumerate(lines) if line.startswith("model ")), None)
        if code == 0 and start is not None:
            summary = lines[start].partition(": ")[2]
            self.show_message(f"{name} on {folder}: {summary}.", "info")
            self.results.show()
            self.results.appendPlainText(f"{name} on {folder}\n" + "\n".join(lines[start:]) + "\n")
        elif self.cancelled:
            self.show_message(f"The test of {name} was cancelled.", "info")
        else:
            line = child.error_line() or (lines[-1] if lines else f"exit code {code}")
            self.show_message(f"The test failed: {line}" + ("" if line.endswith(".") else "."))
        self._update_controls()

    # -- remove -----------------------------------------------------------------

    def ask_remove(self) -> None:
        name = self.current_name()
        entry = self.entries.get(name) if name else None
        if entry is None or entry.bundled:
            return
        answer = QMessageBox.question(self, "Remove the model?",
                                      f"Delete {name} ({entry.path}) from the disk? This cannot be undone.")
        if answer == QMessageBox.StandardButton.Yes:
            self.remove(name)

    def remove(self, name: str) -> None:
        from engine.store import remove_model

        try:
            remove_model(name)
        except (VivavoceError, OSError) as error:
            self.show_message(f"{name} could not be removed: {error}.")
            return
        self.refresh()
        self.show_message(f"Removed {name}.", "info")
        self.changed.emit()

    def show_message(self, text: str, kind: str = "error") -> None:
        self.banner.show_message(text, kind)

    def shut_down(self) -> None:
        """Cancel an import or a test (the app is closing)."""
        if self.child is not None:
            self.cancel_import()
            self.child.wait(10_000)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.child is None:
            self.refresh()

    def closeEvent(self, event) -> None:
        self.settings.set("models/geometry", self.saveGeometry())
        super().closeEvent(event)
