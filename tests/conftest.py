"""Shared fixtures: an isolated user data folder, the real `vivavoce` command, espeak-ng speech."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

VIVAVOCE = Path(sys.executable).with_name("vivavoce")


@pytest.fixture(autouse=True)
def data_dir(tmp_path_factory, monkeypatch) -> Path:
    """Every test gets its own user data folder (models, transcripts, settings)."""
    folder = tmp_path_factory.mktemp("userdata")
    monkeypatch.setenv("VIVAVOCE_DATA_DIR", str(folder))
    return folder


def run_vivavoce(*args, cwd=None) -> subprocess.CompletedProcess:
    """Run the installed `vivavoce` command as a user would; text output captured."""
    return subprocess.run([str(VIVAVOCE), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=os.environ.copy(), timeout=600)


@pytest.fixture
def vivavoce():
    return run_vivavoce


def speak(text: str, path: Path, voice: str = "en-us", speed: int = 160) -> Path:
    """Write espeak-ng's reading of ``text`` to a WAV file (22.05 kHz mono)."""
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text], check=True)
    return path


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory):
    """A tiny CTC model over-fitted on a few espeak-ng sentences: (model folder, {wav: sentence})."""
    from trained_model import train_tiny_model

    return train_tiny_model(tmp_path_factory.mktemp("trained"))
