"""The microphone list that the caption window and the recorder both show."""

from PySide6.QtWidgets import QComboBox

from engine.errors import VivavoceError


def fill_microphones(box: QComboBox, chosen: str | None = None) -> None:
    """The default microphone first, then every input PortAudio lists (each item's data is its
    name, None for the default); ``chosen`` is selected, and kept, marked, when not connected."""
    box.clear()
    box.addItem("Default microphone", None)
    try:
        from engine.capture import list_input_devices

        devices = list_input_devices()
    except VivavoceError as error:
        box.setToolTip(str(error))
        devices = []
    for device in devices:
        box.addItem(device["name"], device["name"])
    if chosen and box.findData(chosen) < 0:
        box.addItem(f"{chosen} (not connected)", chosen)
    box.setCurrentIndex(max(0, box.findData(chosen)) if chosen else 0)
