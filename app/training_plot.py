"""The live plot of a training run: its loss at each logged step, and its validation error rate."""

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

LOSS_COLOR = QColor(40, 120, 220)
CER_COLOR = QColor(230, 120, 0)
LOG_SCALE_RATIO = 20.0  # a loss spanning more than this factor is drawn on a log scale
SMOOTHING = 0.8  # the weight of the past in the loss's running average


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round values (1, 2 or 5 times a power of ten apart) from ``low`` to ``high``, as near ``count`` as may be."""
    if high <= low:
        return [low]
    magnitude = 10 ** math.floor(math.log10((high - low) / max(count - 1, 1)))

    def ticks(step: float) -> list[float]:
        first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
        return [round(i * step, 12) for i in range(first, last + 1)]

    return min((ticks(m * magnitude) for m in (1, 2, 5, 10)), key=lambda t: abs(len(t) - count))


def log_ticks(low: float, high: float) -> list[float]:
    """Round values for a logarithmic axis from ``low`` to ``high`` (both above 0)."""
    ticks = [m * 10.0 ** k for k in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
             for m in (1, 2, 5) if low <= m * 10.0 ** k <= high]
    if len(ticks) > 7:
        ticks = [t for t in ticks if f"{t:e}".startswith("1")]
    return ticks if len(ticks) >= 2 else nice_ticks(low, high)


def smoothed(points: list[tuple[int, float]], weight: float = SMOOTHING) -> list[tuple[int, float]]:
    """An exponential moving average of the values, corrected for its start at zero (as TensorBoard's)."""
    average, out = 0.0, []
    for i, (step, value) in enumerate(points):
        average = weight * average + (1 - weight) * value
        out.append((step, average / (1 - weight ** (i + 1))))
    return out


class TrainingPlot(QWidget):
    """Training loss (left axis; each logged step, and their running average) and validation CER
    (right axis, %) against the step, to the run's end."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.losses: list[tuple[int, float]] = []
        self.evaluations: list[tuple[int, float]] = []
        self.total = 0
        self.setMinimumSize(360, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("Training curves")
        self._describe()

    def set_curves(self, losses: list[tuple[int, float]], evaluations: list[tuple[int, float]], total: int) -> None:
        self.losses = [(step, loss) for step, loss in losses if math.isfinite(loss) and loss > 0]
        self.evaluations = list(evaluations)
        self.total = total
        self._describe()
        self.update()

    def _describe(self) -> None:
        """What the plot shows, in words, for screen readers and the tooltip."""
        parts = []
        if self.losses:
            parts.append(f"loss {self.losses[-1][1]:.3g} at step {self.losses[-1][0]} "
                         f"(from {self.losses[0][1]:.3g})")
        if self.evaluations:
            best = min(cer for _, cer in self.evaluations)
            parts.append(f"validation CER {100 * self.evaluations[-1][1]:.1f}% (best {100 * best:.1f}%)")
        text = "; ".join(parts) or "no steps yet"
        self.setAccessibleDescription(text)
        self.setToolTip(text[0].upper() + text[1:])

    # -- drawing ----------------------------------------------------------------

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.base())
        metrics = QFontMetrics(self.font())
        text_color = palette.text().color()
        if not self.losses:
            painter.setPen(palette.placeholderText().color())
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter,
                             "The loss and the validation error appear here as the model trains.")
            return
        line = metrics.height()
        area = QRectF(metrics.horizontalAdvance("0.000e+00") + 8, line * 1.8, 0, 0)
        area.setRight(self.width() - (metrics.horizontalAdvance("100%") + 12 if self.evaluations else 12))
        area.setBottom(self.height() - line * 2.2)
        if area.width() < 40 or area.height() < 30:
            return
        last = max(self.total, self.losses[-1][0], self.evaluations[-1][0] if self.evaluations else 0, 1)

        def x_of(step: float) -> float:
            return area.left() + area.width() * step / last

        low, high = min(v for _, v in self.losses), max(v for _, v in self.losses)
        logarithmic = high / low > LOG_SCALE_RATIO
        scale = math.log if logarithmic else (lambda v: v)
        if high - low < 1e-9 * max(high, 1.0):
            low, high = 0.9 * low, 1.1 * high
        ticks = log_ticks(low, high) if logarithmic else nice_ticks(low, high)
        bottom, top = scale(low), scale(high)
        margin = 0.05 * (top - bottom)
        bottom, top = bottom - margin, top + margin

        def y_of_loss(value: float) -> float:
            return area.bottom() - area.height() * (scale(value) - bottom) / (top - bottom)

        # The frame, the grid at the loss ticks, and the axes' labels.
        grid = QColor(text_color)
        grid.setAlpha(40)
        painter.setPen(QPen(grid, 1))
        painter.drawRect(area)
        for value in ticks:
            y = y_of_loss(value)
            painter.setPen(QPen(grid, 1))
            painter.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
            painter.setPen(text_color)
            painter.drawText(QRectF(0, y - line / 2, area.left() - 6, line),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"{value:g}")
        for step in nice_ticks(0, last):
            x = x_of(step)
            painter.drawText(QRectF(x - 40, area.bottom() + 4, 80, line), Qt.AlignmentFlag.AlignHCenter,
                             f"{step:,.0f}")
        painter.drawText(QRectF(area.left(), area.bottom() + 4 + line, area.width(), line),
                         Qt.AlignmentFlag.AlignHCenter, "step")

        # Each batch's loss, faint, and their running average, which shows the trend through the
        # noise of batches of different lengths and speakers.
        faint = QColor(LOSS_COLOR)
        faint.setAlpha(70)
        for values, pen in ((self.losses, QPen(faint, 1)), (smoothed(self.losses), QPen(LOSS_COLOR, 2))):
            path = QPainterPath(QPointF(x_of(values[0][0]), y_of_loss(values[0][1])))
            for step, value in values[1:]:
                path.lineTo(x_of(step), y_of_loss(value))
            painter.setPen(pen)
            painter.drawPath(path)
        legend = [(LOSS_COLOR, "training loss, averaged" + (" (log scale)" if logarithmic else ""))]

        if self.evaluations:
            ceiling = max(1.0, max(cer for _, cer in self.evaluations))

            def y_of_cer(cer: float) -> float:
                return area.bottom() - area.height() * cer / ceiling

            painter.setPen(text_color)
            for i in range(5):
                cer = ceiling * i / 4
                painter.drawText(QRectF(area.right() + 6, y_of_cer(cer) - line / 2, 100, line),
                                 Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, f"{100 * cer:.0f}%")
            points = [QPointF(x_of(step), y_of_cer(cer)) for step, cer in self.evaluations]
            painter.setPen(QPen(CER_COLOR, 2))
            for a, b in zip(points, points[1:]):
                painter.drawLine(a, b)
            painter.setBrush(CER_COLOR)
            for point in points:
                painter.drawEllipse(point, 3.5, 3.5)
            best = min(cer for _, cer in self.evaluations)
            legend.append((CER_COLOR, f"validation CER (best {100 * best:.1f}%)"))

        x = area.left()
        for color, label in legend:
            painter.setPen(QPen(color, 3))
            painter.drawLine(QPointF(x, line * 0.9), QPointF(x + 18, line * 0.9))
            painter.setPen(text_color)
            painter.drawText(QPointF(x + 24, line * 0.9 + metrics.ascent() / 2 - 1), label)
            x += 24 + metrics.horizontalAdvance(label) + 20
