"""The caption area: final text solid, the partial caption dimmed and in italics, newest at the bottom.

One widget draws captions in the main window and in the overlay. It keeps the
recent final captions and the partial one, flows them as running text wrapped
to its width, and shows the lines that fit (the overlay: the style's number of
lines). New final captions are announced to screen readers.
"""

from collections import deque

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import (QAccessible, QAccessibleAnnouncementEvent, QColor, QFont, QFontMetrics,
                           QPainter)
from PySide6.QtWidgets import QSizePolicy, QWidget

from .style import CaptionStyle

HISTORY = 200  # final captions kept on screen (the transcript keeps them all)
PARTIAL_MIX = 0.35  # how far the partial text's colour moves towards the background


def mix(a: QColor, b: QColor, amount: float) -> QColor:
    return QColor(*(round((1 - amount) * x + amount * y) for x, y in
                    zip(a.getRgb()[:3], b.getRgb()[:3], strict=True)))


class CaptionView(QWidget):
    def __init__(self, parent: QWidget | None = None, opaque: bool = True, fixed_lines: bool = False):
        super().__init__(parent)
        self.opaque = opaque  # the main window's area ignores the style's opacity
        self.fixed_lines = fixed_lines  # the overlay shows exactly style.lines lines
        self.finals: deque[str] = deque(maxlen=HISTORY)
        self.partial = ""
        self.caption_style = CaptionStyle()
        self.margin = 12
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("Captions")
        self.setAccessibleDescription("Live captions; the newest line is at the bottom.")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    # -- content ---------------------------------------------------------------

    def add_final(self, text: str) -> None:
        if not text:
            return
        self.finals.append(text)
        self.partial = ""
        self.setAccessibleDescription(text)
        QAccessible.updateAccessibility(QAccessibleAnnouncementEvent(self, text))
        self.update()

    def set_partial(self, text: str) -> None:
        if text != self.partial:
            self.partial = text
            self.update()

    def clear(self) -> None:
        self.finals.clear()
        self.partial = ""
        self.update()

    def set_caption_style(self, style: CaptionStyle) -> None:
        self.caption_style = style
        self.updateGeometry()
        self.update()

    # -- layout ----------------------------------------------------------------

    def caption_font(self) -> QFont:
        font = QFont(self.font())
        if self.caption_style.font_family:
            font.setFamily(self.caption_style.font_family)
        font.setPointSize(self.caption_style.font_size)
        return font

    def _show(self, text: str) -> str:
        return text.upper() if self.caption_style.uppercase else text

    def visual_lines(self, width: int | None = None) -> list[tuple[str, str]]:
        """The captions wrapped to ``width`` pixels: (final part, partial part) per line, oldest first."""
        width = (width if width is not None else self.width()) - 2 * self.margin
        metrics = QFontMetrics(self.caption_font())
        italic = QFont(self.caption_font())
        italic.setItalic(True)
        partial_metrics = QFontMetrics(italic)
        words = [(w, False) for text in self.finals for w in self._show(text).split()]
        words += [(w, True) for w in self._show(self.partial).split()]
        lines: list[tuple[str, str]] = []
        final, partial, used = [], [], 0
        space = metrics.horizontalAdvance(" ")
        for word, provisional in words:
            advance = (partial_metrics if provisional else metrics).horizontalAdvance(word)
            if used and used + space + advance > width:
                lines.append((" ".join(final), " ".join(partial)))
                final, partial, used = [], [], 0
            (partial if provisional else final).append(word)
            used += (space if used else 0) + advance
        if final or partial:
            lines.append((" ".join(final), " ".join(partial)))
        return lines

    def sizeHint(self) -> QSize:
        spacing = QFontMetrics(self.caption_font()).lineSpacing()
        lines = self.caption_style.lines if self.fixed_lines else max(3, self.caption_style.lines)
        return QSize(40 * spacing, lines * spacing + 2 * self.margin)

    def minimumSizeHint(self) -> QSize:
        spacing = QFontMetrics(self.caption_font()).lineSpacing()
        return QSize(8 * spacing, spacing + 2 * self.margin)

    # -- drawing ---------------------------------------------------------------

    def paintEvent(self, event) -> None:
        style = self.caption_style
        text_color, background = QColor(style.text_color), QColor(style.background_color)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        if not self.opaque:
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        fill = QColor(background)
        fill.setAlphaF(1.0 if self.opaque else style.background_opacity)
        painter.fillRect(self.rect(), fill)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
        font = self.caption_font()
        italic = QFont(font)
        italic.setItalic(True)
        metrics = QFontMetrics(font)
        spacing = metrics.lineSpacing()
        room = max(1, (self.height() - 2 * self.margin) // spacing)
        shown = self.visual_lines()[-min(room, style.lines) if self.fixed_lines else -room:]
        y = self.height() - self.margin - len(shown) * spacing
        dim = mix(text_color, background, PARTIAL_MIX)
        for final, partial in shown:
            x = self.margin
            rect = QRect(x, y, self.width() - 2 * self.margin, spacing)
            if final:
                painter.setFont(font)
                painter.setPen(text_color)
                painter.drawText(rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, final)
                x += metrics.horizontalAdvance(final + " ")
            if partial:
                painter.setFont(italic)
                painter.setPen(dim)
                painter.drawText(QRect(x, y, self.width() - x, spacing),
                                 Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, partial)
            y += spacing
        painter.end()
