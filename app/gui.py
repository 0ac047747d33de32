"""`vivavoce` / `vivavoce gui`: the desktop app."""

import sys

from PySide6.QtCore import QSocketNotifier, Qt, QTimer
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
    close_on_signals(window)
    window.show()
    if start or window.starts_on_open:
        QTimer.singleShot(0, window.start)  # once the event loop runs, so the window paints first
    return app.exec()


def close_on_signals(window: MainWindow) -> None:
    """SIGTERM (a logout, `kill`) and SIGINT (Ctrl-C where the app was started) close the window as
    its close button does: the caption being spoken is saved, and a training run stops where it
    can resume.

    Python runs a signal handler only when the interpreter has control, which Qt's event loop does
    not give it; so the signal's number is written to a socket (signal.set_wakeup_fd), and the
    event loop watches that socket.
    """
    import signal
    import socket

    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, window)

    def on_signal() -> None:
        try:
            reader.recv(64)
        except BlockingIOError:
            return
        window.close()

    notifier.activated.connect(on_signal)
    window._signal_sockets = (reader, writer)  # kept open as long as the window
    signal.set_wakeup_fd(writer.fileno())
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: None)  # the wake-up byte does the work
