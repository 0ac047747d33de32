"""What the app remembers between runs: window places, overlay, caption style, source, device, model.

Kept with QSettings in an INI file in the user's data folder (beside the models
and transcripts), so a test or a portable install can point it elsewhere with
VIVAVOCE_DATA_DIR.
"""

from PySide6.QtCore import QByteArray, QSettings

from engine.paths import data_dir

from .style import CaptionStyle


class Settings:
    def __init__(self, path=None):
        self.path = str(path or data_dir() / "settings.ini")
        self.qsettings = QSettings(self.path, QSettings.Format.IniFormat)

    def get(self, key: str, default=None, kind=str):
        value = self.qsettings.value(key, default)
        if value is None or kind is None:
            return value
        if kind is bool:
            return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
        try:
            return kind(value)
        except (TypeError, ValueError):
            return default

    def set(self, key: str, value) -> None:
        self.qsettings.setValue(key, value)

    def geometry(self, key: str) -> QByteArray | None:
        value = self.qsettings.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def caption_style(self) -> CaptionStyle:
        self.qsettings.beginGroup("style")
        values = {key: self.qsettings.value(key) for key in self.qsettings.childKeys()}
        self.qsettings.endGroup()
        return CaptionStyle.from_dict(values)

    def set_caption_style(self, style: CaptionStyle) -> None:
        for key, value in style.to_dict().items():
            self.qsettings.setValue(f"style/{key}", value)

    def sync(self) -> None:
        self.qsettings.sync()
