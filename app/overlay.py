"""The caption overlay: a frameless, translucent window that stays on top of everything.

It is what a deaf user keeps over a video call: drag it anywhere (or dock it to
the top or bottom of the screen), resize it from the corner grip, and make it
click-through so that the window below gets the clicks. Double-click toggles
between the docked position and where it was dragged.
"""

from PySide6.QtCore import QPoint, QRect, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import QSizeGrip, QVBoxLayout, QWidget

from .captions import CaptionView
from .style import CaptionStyle

DOCKS = ("bottom", "top", "free")
SCREEN_MARGIN = 24  # pixels between a docked overlay and the screen's edge
DOCKED_WIDTH = 0.8  # of the screen


class CaptionOverlay(QWidget):
    moved = Signal()  # dragged or resized by the user (the position is worth saving)
    closed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.Tool | Qt.WindowType.FramelessWindowHint
                         | Qt.WindowType.WindowStaysOnTopHint)
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
        self.setWindowTitle("Vivavoce captions")
        self.setAccessibleName("Caption overlay")
        self.setAccessibleDescription("Captions over other windows; drag to move, Escape hides it.")
        self.view = CaptionView(self, opaque=False, fixed_lines=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.grip = QSizeGrip(self)
        self.grip.setAccessibleName("Resize the overlay")
        self.dock = "bottom"
        self.click_through = False
        self._drag: QPoint | None = None
        self._refreshing = False
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.hide)

    # -- options ----------------------------------------------------------------

    def set_caption_style(self, style: CaptionStyle) -> None:
        self.view.set_caption_style(style)
        if self.dock != "free":
            self.apply_dock()
        else:
            self.resize(self.width(), self.view.sizeHint().height())

    def set_dock(self, dock: str) -> None:
        if dock not in DOCKS:
            raise ValueError(f"unknown dock {dock!r}; expected one of {DOCKS}")
        self.dock = dock
        self.apply_dock()

    def apply_dock(self) -> None:
        """Place a docked overlay at the top or bottom of its screen, centred, 80% wide."""
        if self.dock == "free":
            return
        screen = (self.screen() or QGuiApplication.primaryScreen()).availableGeometry()
        height = self.view.sizeHint().height()
        width = int(screen.width() * DOCKED_WIDTH)
        x = screen.x() + (screen.width() - width) // 2
        y = (screen.y() + SCREEN_MARGIN if self.dock == "top"
             else screen.y() + screen.height() - height - SCREEN_MARGIN)
        self.setGeometry(QRect(x, y, width, height))

    def set_click_through(self, on: bool) -> None:
        """Let clicks pass to the windows below (the overlay can then only be moved from the main window)."""
        self.click_through = on
        visible = self.isVisible()
        self._refreshing = True
        self.setWindowFlag(Qt.WindowType.WindowTransparentForInput, on)
        self.grip.setVisible(not on)
        if visible:
            self.show()  # changing window flags hides a window
        self._refreshing = False

    # -- mouse ------------------------------------------------------------------

    def resizeEvent(self, event) -> None:
        size = self.grip.sizeHint()
        self.grip.move(self.width() - size.width(), self.height() - size.height())
        super().resizeEvent(event)

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag = event.globalPosition().toPoint() - self.frameGeometry().topLeft()
            event.accept()

    def mouseMoveEvent(self, event) -> None:
        if self._drag is not None and event.buttons() & Qt.MouseButton.LeftButton:
            self.dock = "free"
            self.move(event.globalPosition().toPoint() - self._drag)
            event.accept()

    def mouseReleaseEvent(self, event) -> None:
        if self._drag is not None:
            self._drag = None
            self.moved.emit()

    def mouseDoubleClickEvent(self, event) -> None:
        self.set_dock("bottom" if self.dock != "bottom" else "top")
        self.moved.emit()

    def hideEvent(self, event) -> None:
        if not self._refreshing:
            self.closed.emit()
        super().hideEvent(event)
