"""A message across the top of a window that does not block anything: what went wrong, what to do."""

from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget


class MessageBanner(QFrame):
    """Shown until dismissed or replaced; announced to screen readers."""

    COLORS = {"error": "rgba(220, 40, 40, 60)", "warning": "rgba(230, 160, 0, 60)", "info": "rgba(40, 120, 220, 50)"}

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("banner")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.dismiss = QPushButton("&Dismiss")
        self.dismiss.setAccessibleDescription("Hide this message")
        layout = QHBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.dismiss)
        self.dismiss.clicked.connect(self.hide)
        self.setAccessibleName("Message")
        self.kind = "info"
        self.hide()

    def show_message(self, text: str, kind: str = "error") -> None:
        self.kind = kind
        self.text.setText(text)
        self.setAccessibleDescription(text)
        self.setStyleSheet(f"#banner {{ background: {self.COLORS[kind]}; border-radius: 6px; }}")
        self.show()
        QAccessible.updateAccessibility(QAccessibleAnnouncementEvent(self, text))
