"""Shared fixtures: an isolated user data folder, the real `vivavoce` command, espeak-ng speech,
and a PulseAudio null sink to play into and capture from."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

VIVAVOCE = Path(sys.executable).with_name("vivavoce")
# Qt widgets without a display, on a laptop-sized screen (the offscreen default is 800 x 600).
os.environ.setdefault("QT_QPA_PLATFORM", f"offscreen:configfile={Path(__file__).with_name('offscreen_screen.json')}")


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


@pytest.fixture
def no_bundled_model(monkeypatch):
    """As if the application shipped no models (a user's own build, a removed default model)."""
    monkeypatch.setattr("engine.store.bundled_models_dir", lambda: None)


@pytest.fixture
def starter(data_dir):
    """A tiny pretrained model, installed, to fine-tune from."""
    import torch

    from engine.model import Wav2Vec2
    from engine.modelfolder import ModelConfig, save_model_folder
    from engine.presets import preset
    from engine.store import models_dir

    torch.manual_seed(0)
    arch = preset("tiny", conv_channels=(64,) * 7, hidden_size=96, num_layers=2, num_heads=4, ffn_size=192,
                  pos_conv_kernel=32, pos_conv_groups=8, codebook_entries=32, codevector_dim=64,
                  projection_dim=32)
    save_model_folder(Wav2Vec2(arch), ModelConfig("pretrained", arch, name="starter"), models_dir() / "starter",
                      card="# starter\n\nA tiny random model for tests.\n")
    return "starter"


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory):
    """A tiny CTC model over-fitted on a few espeak-ng sentences: (model folder, {wav: sentence})."""
    from trained_model import train_tiny_model

    return train_tiny_model(tmp_path_factory.mktemp("trained"))


SINK = "vivavoce_test"
MONITOR = f"{SINK}.monitor"


def pactl(*args: str) -> str:
    result = subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=10)
    assert result.returncode == 0, f"pactl {' '.join(args)}: {result.stderr.strip()}"
    return result.stdout.strip()


class NullSink:
    """A PulseAudio null sink named ``name``, made the default sink and its monitor the default source."""

    def __init__(self, name: str, default: bool = True):
        self.name = name
        self.default = default
        self.module = None

    def load(self):
        self.module = pactl("load-module", "module-null-sink", f"sink_name={self.name}")
        if self.default:
            pactl("set-default-sink", self.name)
            pactl("set-default-source", f"{self.name}.monitor")

    def unload(self):
        pactl("unload-module", self.module)
        self.module = None


@pytest.fixture(scope="session")
def null_sink():
    """PulseAudio running (started here if it is not), with the null sink ``vivavoce_test``."""
    started = subprocess.run(["pulseaudio", "--check"]).returncode != 0
    if started:
        # As root PulseAudio warns that it is meant for --system, then runs fine per user.
        result = subprocess.run(["pulseaudio", "--daemonize=yes", "--exit-idle-time=-1"],
                                capture_output=True, text=True, timeout=30)
        if subprocess.run(["pulseaudio", "--check"]).returncode != 0:
            pytest.fail(f"PulseAudio did not start: {result.stderr.strip()}")
    saved_sink, saved_source = pactl("get-default-sink"), pactl("get-default-source")
    sink = NullSink(SINK)
    sink.load()
    # PortAudio lists devices once; the ALSA 'pulse' device exists only with a server.
    import sounddevice
    sounddevice._terminate()
    sounddevice._initialize()
    yield sink
    if sink.module is not None:
        sink.unload()
    if started:
        subprocess.run(["pulseaudio", "--kill"], timeout=30)
    else:
        subprocess.run(["pactl", "set-default-sink", saved_sink])
        subprocess.run(["pactl", "set-default-source", saved_source])
