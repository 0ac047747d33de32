"""The caption style dialog: presets, font, size, colours, opacity, lines, capitals, with a live preview.

Changes apply as they are made (to the main window and the overlay) and the
dialog says the contrast of the colours chosen, against WCAG's 7:1 (AAA).
"""

from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (QCheckBox, QColorDialog, QComboBox, QDialog, QDialogButtonBox,
                               QFontComboBox, QFormLayout, QLabel, QPushButton, QSlider, QSpinBox,
                               QVBoxLayout, QWidget)

from .captions import CaptionView
from .style import AAA, MAX_FONT_SIZE, MAX_LINES, MIN_FONT_SIZE, PRESETS, CaptionStyle, preset_name, worst_contrast

CUSTOM = "Custom"


class ColorButton(QPushButton):
    changed = Signal(str)

    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = title
        self.color = "#000000"
        self.clicked.connect(self._choose)

    def set_color(self, color: str) -> None:
        self.color = color
        text = "#000000" if QColor(color).lightnessF() > 0.5 else "#ffffff"
        self.setText(color)
        self.setStyleSheet(f"background-color: {color}; color: {text};")
        self.setAccessibleDescription(f"{self.title}: {color}")

    def _choose(self) -> None:
        color = QColorDialog.getColor(QColor(self.color), self, self.title)
        if color.isValid():
            self.set_color(color.name())
            self.changed.emit(color.name())


class StyleDialog(QDialog):
    style_changed = Signal(object)  # CaptionStyle

    def __init__(self, style: CaptionStyle, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Caption style")
        self.setAccessibleName("Caption style")
        self.original = style
        self.preset = QComboBox()
        self.preset.addItems([*PRESETS, CUSTOM])
        self.font_family = QFontComboBox()
        self.font_size = QSpinBox()
        self.font_size.setRange(MIN_FONT_SIZE, MAX_FONT_SIZE)
        self.font_size.setSuffix(" pt")
        self.text_color = ColorButton("Text colour")
        self.background_color = ColorButton("Background colour")
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.lines = QSpinBox()
        self.lines.setRange(1, MAX_LINES)
        self.uppercase = QCheckBox("Capital letters")
        self.contrast = QLabel()
        self.contrast.setWordWrap(True)
        self.preview = CaptionView(self, opaque=True)
        self.preview.add_final("The quick brown fox jumps over the lazy dog.")
        self.preview.set_partial("And this part may still change")
        self.preview.setMinimumHeight(120)
        self.preview.setAccessibleName("Preview")

        for widget, name in ((self.preset, "Preset"), (self.font_family, "Font"), (self.font_size, "Text size"),
                             (self.opacity, "Overlay background opacity"), (self.lines, "Overlay lines"),
                             (self.uppercase, "Capital letters")):
            widget.setAccessibleName(name)
        self.text_color.setAccessibleName("Text colour")
        self.background_color.setAccessibleName("Background colour")

        form = QFormLayout()
        form.addRow("&Preset:", self.preset)
        form.addRow("&Font:", self.font_family)
        form.addRow("Text &size:", self.font_size)
        form.addRow("&Text colour:", self.text_color)
        form.addRow("&Background colour:", self.background_color)
        form.addRow("Overlay &opacity:", self.opacity)
        form.addRow("Overlay &lines:", self.lines)
        form.addRow("", self.uppercase)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
                                   | QDialogButtonBox.StandardButton.Reset)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.contrast)
        layout.addWidget(self.preview, 1)
        layout.addWidget(buttons)

        self._loading = False
        self.load(style)
        self.preset.activated.connect(self._choose_preset)
        self.font_family.currentFontChanged.connect(self._changed)
        self.font_size.valueChanged.connect(self._changed)
        self.text_color.changed.connect(self._changed)
        self.background_color.changed.connect(self._changed)
        self.opacity.valueChanged.connect(self._changed)
        self.lines.valueChanged.connect(self._changed)
        self.uppercase.toggled.connect(self._changed)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.Reset).clicked.connect(
            lambda: self._apply_preset(next(iter(PRESETS))))

    def load(self, style: CaptionStyle) -> None:
        self._loading = True
        self.preset.setCurrentText(preset_name(style) or CUSTOM)
        self.font_family.setCurrentFont(QFont(style.font_family) if style.font_family else self.font())
        self.font_size.setValue(style.font_size)
        self.text_color.set_color(style.text_color)
        self.background_color.set_color(style.background_color)
        self.opacity.setValue(round(style.background_opacity * 100))
        self.lines.setValue(style.lines)
        self.uppercase.setChecked(style.uppercase)
        self._loading = False
        self._show(style)

    def current_style(self) -> CaptionStyle:
        family = self.font_family.currentFont().family()
        return CaptionStyle(font_family="" if family == self.font().family() else family,
                            font_size=self.font_size.value(), text_color=self.text_color.color,
                            background_color=self.background_color.color,
                            background_opacity=self.opacity.value() / 100, lines=self.lines.value(),
                            uppercase=self.uppercase.isChecked())

    def _choose_preset(self, index: int) -> None:
        name = self.preset.itemText(index)
        if name in PRESETS:
            self._apply_preset(name)

    def _apply_preset(self, name: str) -> None:
        # A preset sets colours, opacity, size and lines; the font and capitals stay the user's.
        current = self.current_style()
        self.load(replace(PRESETS[name], font_family=current.font_family, uppercase=current.uppercase))
        self.style_changed.emit(self.current_style())

    def _changed(self, *_) -> None:
        if self._loading:
            return
        style = self.current_style()
        self.preset.setCurrentText(preset_name(style) or CUSTOM)
        self._show(style)
        self.style_changed.emit(style)

    def _show(self, style: CaptionStyle) -> None:
        self.preview.set_caption_style(style)
        ratio, overlay = worst_contrast(style, opacity=1.0), worst_contrast(style)
        verdict = ("meets WCAG AAA (7:1)" if min(ratio, overlay) >= AAA
                   else "below WCAG AAA (7:1): harder to read; a preset is safer")
        self.contrast.setText(f"Contrast {ratio:.1f}:1, on the overlay at least {overlay:.1f}:1 — {verdict}")

    def reject(self) -> None:
        self.style_changed.emit(self.original)
        super().reject()
