"""`vivavoce` / `vivavoce gui`: the desktop app."""

import sys

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication

from engine.threads import wait_passively

from .main_window import MainWindow


def make_application(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance()
    if app is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("Vivavoce")
    app.setApplicationDisplayName("Vivavoce")
    app.setOrganizationName("Vivavoce")
    app.setDesktopFileName("vivavoce")
    icon = _icon()
    if icon is not None:
        app.setWindowIcon(icon)
    return app


def _icon() -> QIcon | None:
    import importlib.resources

    path = importlib.resources.files("assets") / "vivavoce.svg"
    return QIcon(str(path)) if path.is_file() else None


def run(model: str | None = None, compute: str = "auto", start: bool = False) -> int:
    """The main window; with ``start`` (or its setting on), captions start as it opens."""
    wait_passively()  # before the caption worker loads torch
    app = make_application()
    window = MainWindow(model=model, compute=compute)
    window.show()
    if start or window.starts_on_open:
        QTimer.singleShot(0, window.start)  # once the event loop runs, so the window paints first
    return app.exec()
