"""Where the user's data lives. Imports nothing heavy: the app reads it before torch is loaded."""

import os
from pathlib import Path

import platformdirs


def data_dir() -> Path:
    """The user's Vivavoce data folder (VIVAVOCE_DATA_DIR overrides the platform's)."""
    override = os.environ.get("VIVAVOCE_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir("vivavoce", appauthor=False))
