"""Speech synthesisers behind one interface, each used when installed.

An engine lists its voices and speaks a sentence in one of them at a given
speed and pitch (both factors around 1), returning float32 mono samples and
their rate. Engines run as subprocesses, so any number can speak in parallel.
MBROLA voices are never used: their licence forbids use in a product.
"""

import io
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from engine.errors import VivavoceError


class SynthesisError(VivavoceError):
    """One sentence could not be spoken (the corpus skips it and counts it)."""


def _run(command: list[str], what: str) -> bytes:
    try:
        result = subprocess.run(command, capture_output=True, timeout=120, check=True)
    except subprocess.CalledProcessError as error:
        reason = error.stderr.decode(errors="replace").strip().splitlines()
        raise SynthesisError(f"{what}: {reason[-1] if reason else f'exit status {error.returncode}'}") from None
    except subprocess.TimeoutExpired:
        raise SynthesisError(f"{what}: no answer within 120 s") from None
    return result.stdout


def _read_wav(data: bytes, what: str) -> tuple[np.ndarray, int]:
    try:
        samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError) as error:
        raise SynthesisError(f"{what}: unreadable audio ({error})") from None
    if not len(samples):
        raise SynthesisError(f"{what}: no audio")
    return samples.mean(axis=1), rate


@dataclass(frozen=True)
class Espeak:
    """espeak-ng: every English accent (not the MBROLA voices) x every voice variant."""

    name: str = "espeak"
    licence: str = "GPL-3.0 (espeak-ng and its voice data)"

    def available(self) -> bool:
        return shutil.which("espeak-ng") is not None

    def voices(self) -> list[str]:
        listing = _run(["espeak-ng", "--voices=en"], "espeak-ng --voices").decode().splitlines()[1:]
        accents = sorted({line.split()[1] for line in listing if line.split()[4].startswith("gmw/")})
        variants = _run(["espeak-ng", "--voices=variant"], "espeak-ng --voices").decode().splitlines()[1:]
        names = sorted({line.split()[4].split("/")[-1] for line in variants if len(line.split()) > 4})
        return [f"{accent}+{variant}" for accent in accents for variant in names]

    def speak(self, text: str, voice: str, speed: float, pitch: float) -> tuple[np.ndarray, int]:
        command = ["espeak-ng", "-v", voice, "-s", str(round(175 * speed)), "-p",
                   str(max(0, min(99, round(50 * pitch)))), "--stdout", text]
        return _read_wav(_run(command, f"espeak-ng voice {voice}"), f"espeak-ng voice {voice}")

    def phonemes(self, text: str, voice: str) -> str:
        """The IPA phonemes espeak-ng would speak for ``text``, words separated by spaces."""
        ipa = _run(["espeak-ng", "-q", "--ipa", "-v", voice.split("+")[0], text], "espeak-ng --ipa").decode()
        return " ".join(ipa.split())


# Flite's English voices and the mean pitch (Hz) each speaks at, around which we spread.
_FLITE_VOICES = {"kal16": 105.0, "awb": 110.0, "rms": 95.0, "slt": 170.0}


@dataclass(frozen=True)
class Flite:
    """Flite (CMU): the voices kal16, awb, rms and slt, recorded from real speakers."""

    name: str = "flite"
    licence: str = "BSD-like (CMU Flite and its CMU Arctic voices)"

    def available(self) -> bool:
        return shutil.which("flite") is not None

    def voices(self) -> list[str]:
        listed = _run(["flite", "-lv"], "flite -lv").decode().split(":", 1)[-1].split()
        return [voice for voice in _FLITE_VOICES if voice in listed]

    def speak(self, text: str, voice: str, speed: float, pitch: float) -> tuple[np.ndarray, int]:
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "speech.wav"
            _run(["flite", "-voice", voice, "--setf", f"duration_stretch={1 / speed:.3f}",
                  "--setf", f"int_f0_target_mean={_FLITE_VOICES[voice] * pitch:.1f}",
                  "-t", text, "-o", str(out)], f"flite voice {voice}")
            return _read_wav(out.read_bytes(), f"flite voice {voice}")


ENGINES = {engine.name: engine for engine in (Espeak(), Flite())}


def choose_engines(names: list[str], notice) -> list:
    """The engines asked for that are installed; ``notice`` hears one line for each one skipped."""
    unknown = [name for name in names if name not in ENGINES]
    if unknown:
        raise VivavoceError(f"--engines: unknown engine {', '.join(unknown)}; choose from {', '.join(ENGINES)}")
    chosen = []
    for name in names:
        engine = ENGINES[name]
        if engine.available():
            chosen.append(engine)
        else:
            notice(f"{name} is not installed; skipped")
    if not chosen:
        raise VivavoceError(f"--engines {','.join(names)}: none of these synthesisers is installed "
                            "(Debian packages: espeak-ng, flite)")
    return chosen
