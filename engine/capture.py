"""Live audio from a microphone or from the system's sound output, as 16 kHz mono float32.

The real-time path is: PortAudio's callback thread copies each block into a
preallocated ``RingBuffer`` (no allocation, no lock the reader can hold, no
waiting), and the recogniser's thread ``read``s from it, resamples and decodes.

Sample rate: a source asks the device for 16 kHz first. Sound servers
(PulseAudio, PipeWire: the ALSA ``pulse`` and ``default`` devices) and most USB
microphones accept it, and then nothing is resampled here. A device that only
runs at its own rate is opened at that rate and the reader resamples with
``StreamResampler``, which carries context across reads so block edges do not
click.

System sound on Linux is the monitor source of the default PulseAudio/PipeWire
sink, recorded through the ALSA ``pulse`` device: libpulse reads the
``PULSE_SOURCE`` environment variable when the device is opened, which routes
that one stream to the monitor.
"""

import contextlib
import math
import os
import shutil
import subprocess
import sys
import threading
import time

import numpy as np

from engine.errors import AudioError, VivavoceError

SAMPLE_RATE = 16000
"""The rate, in Hz, of every waveform ``MicrophoneSource.read`` returns."""

NO_INPUT = ("no audio input was found (check that a microphone is connected and that PulseAudio "
            "or PipeWire is running; PortAudio reaches them through the ALSA 'pulse' device of "
            "libasound2-plugins)")

# A stream that delivered nothing for this long has lost its device. PulseAudio
# takes up to 2 s to start a stream, so the first callback gets extra time.
STALL_SECONDS = 2.0
STARTUP_SECONDS = 5.0

# How often a waiting reader looks at the stream's health, in seconds.
_CHECK_SECONDS = 0.25

# torchaudio's resampling kernel reaches this many zero crossings either side.
_LOWPASS_FILTER_WIDTH = 6
_ROLLOFF = 0.99


class RingBuffer:
    """A fixed ring of float32 samples: one writer (the audio callback), one reader.

    ``write`` copies a block in without allocating and without taking a lock;
    when the reader falls behind, the oldest samples are overwritten and counted
    in ``dropped``. ``read`` blocks on an event (no polling) until audio arrives.
    """

    def __init__(self, capacity: int):
        self.capacity = int(capacity)
        self._buffer = np.zeros(self.capacity, dtype=np.float32)
        # Absolute sample counts since creation. Only the writer changes _claimed
        # and _written, only the reader _read and _lost. The writer raises
        # _claimed before it overwrites anything, so a reader that copied old
        # samples can tell afterwards whether they were overwritten meanwhile.
        self._claimed = 0
        self._written = 0
        self._read = 0
        self._lost = 0
        self._ready = threading.Event()
        self._woken = False

    @property
    def written(self) -> int:
        """Samples written since creation."""
        return self._written

    @property
    def dropped(self) -> int:
        """Samples overwritten before the reader got them."""
        return self._lost + max(0, self._written - self._read - self.capacity)

    def write(self, block: np.ndarray) -> None:
        """Copy ``block`` (1-D float32 samples) in; the oldest samples go when the ring is full."""
        n = len(block)
        kept = block[max(0, n - self.capacity):]
        end = self._written + n
        self._claimed = end
        start = (end - len(kept)) % self.capacity
        first = min(len(kept), self.capacity - start)
        self._buffer[start:start + first] = kept[:first]
        self._buffer[:len(kept) - first] = kept[first:]
        self._written = end
        self._ready.set()

    def wake(self) -> None:
        """Make a blocked ``read`` return now (with what is there, maybe nothing)."""
        self._woken = True
        self._ready.set()

    def read(self, max_samples: int | None = None, timeout: float | None = None) -> np.ndarray:
        """The oldest unread samples, at most ``max_samples``; empty after ``timeout`` seconds."""
        if not self._wait(timeout):
            return np.zeros(0, dtype=np.float32)
        written = self._written
        start = max(self._read, written - self.capacity)
        end = written if max_samples is None else min(written, start + max_samples)
        out = np.empty(end - start, dtype=np.float32)
        position = start % self.capacity
        first = min(len(out), self.capacity - position)
        out[:first] = self._buffer[position:position + first]
        out[first:] = self._buffer[:len(out) - first]
        intact = self._claimed - self.capacity
        if intact > start:
            # The writer lapped us while we copied: those samples are newer audio.
            skipped = min(intact, end) - start
            out = out[skipped:]
            start += skipped
        self._lost += start - self._read
        self._read = end
        return out

    def _wait(self, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._written == self._read:
            # Clear, then look: a write after the look sets the event again.
            self._ready.clear()
            if self._woken or self._written != self._read:
                break
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            if not self._ready.wait(remaining):
                return False
        self._woken = False
        return self._written != self._read


class StreamResampler:
    """Resamples a stream given in pieces to 16 kHz, equal to resampling it whole.

    Each call resamples whole periods of the rate ratio, with enough audio
    either side that torchaudio's windowed-sinc kernel sees the same samples it
    would in the whole signal; the output lags the input by that right context
    (about 20 ms at 44.1 kHz).
    """

    def __init__(self, source_rate: int):
        import torch  # here, not at the top: listing devices must not load torch (seconds)
        import torchaudio

        self._torch = torch
        divisor = math.gcd(int(source_rate), SAMPLE_RATE)
        self._period = int(source_rate) // divisor
        self._out_period = SAMPLE_RATE // divisor
        self._resample = torchaudio.transforms.Resample(int(source_rate), SAMPLE_RATE,
                                                        lowpass_filter_width=_LOWPASS_FILTER_WIDTH,
                                                        rolloff=_ROLLOFF)
        base = min(self._period, self._out_period) * _ROLLOFF
        reach = math.ceil(_LOWPASS_FILTER_WIDTH * self._period / base) + self._period
        self._context = math.ceil(reach / self._period) * self._period
        # Zeros before the first sample, as torchaudio pads a whole signal.
        self._pending = np.zeros(self._context, dtype=np.float32)

    def process(self, samples: np.ndarray) -> np.ndarray:
        """The 16 kHz samples that ``samples`` (and what came before) complete."""
        pending = np.concatenate([self._pending, samples])
        periods = (len(pending) - 2 * self._context) // self._period
        if periods <= 0:
            self._pending = pending
            return np.zeros(0, dtype=np.float32)
        used = periods * self._period
        segment = self._torch.from_numpy(pending[:used + 2 * self._context])
        with self._torch.inference_mode():
            resampled = self._resample(segment).numpy()
        skip = self._context // self._period * self._out_period
        self._pending = pending[used:]
        return resampled[skip:skip + periods * self._out_period].copy()


def _sounddevice():
    """The ``sounddevice`` module; AudioError when PortAudio itself is missing."""
    try:
        import sounddevice
    except OSError as error:
        raise AudioError(f"PortAudio cannot be loaded ({error}); on Debian install libportaudio2") from None
    return sounddevice


def list_input_devices() -> list[dict]:
    """Every device that can record: name, index, channels, default_rate (Hz), host_api.

    Empty when PortAudio finds none (no audio server, no sound card).
    """
    sd = _sounddevice()
    host_apis = sd.query_hostapis()
    return [{"name": device["name"], "index": device["index"],
             "channels": device["max_input_channels"],
             "default_rate": int(device["default_samplerate"]),
             "host_api": host_apis[device["hostapi"]]["name"]}
            for device in sd.query_devices() if device["max_input_channels"] > 0]


def describe_devices() -> str:
    """Lines for ``vivavoce devices``: one per input device, the default marked with '*'."""
    devices = list_input_devices()
    if not devices:
        raise AudioError(NO_INPUT)
    default = _default_input_index()
    lines = []
    for device in devices:
        mark = "*" if device["index"] == default else " "
        lines.append(f"{mark} {device['index']:>3}  {device['name']}  ({device['host_api']}, "
                     f"{device['channels']} channels, {device['default_rate']} Hz)")
    monitor = system_source_device() if sys.platform.startswith("linux") else None
    if monitor:
        lines.append(f"  system sound: {monitor} (through the 'pulse' device)")
    return "\n".join(lines)


def _default_input_index() -> int | None:
    sd = _sounddevice()
    try:
        return sd.query_devices(kind="input")["index"]
    except sd.PortAudioError:
        return None


def system_source_device() -> str | None:
    """The PulseAudio/PipeWire source that carries what the computer plays, or None.

    Linux: the monitor of the default sink. Windows: the WASAPI loopback input of the default
    output, where PortAudio offers one. Where what is needed is missing (and always on macOS)
    VivavoceError explains what to do.
    """
    if sys.platform == "win32":
        return _windows_loopback_device()
    if sys.platform == "darwin":
        raise VivavoceError("macOS does not let apps record system sound: install a loopback "
                            "driver such as BlackHole, send the sound to it and choose it as input")
    sources = _pulse_sources()
    if not sources:
        return None
    default_sink = _pactl("get-default-sink").strip()
    if f"{default_sink}.monitor" in sources:
        return f"{default_sink}.monitor"
    return next((name for name in sources if name.endswith(".monitor")), None)


def _windows_loopback_device() -> str:
    """The WASAPI loopback input that PortAudio lists for the default output (PortAudio's
    development sources have it since 2022; its 19.7.0 release, which sounddevice bundles, does not)."""
    sd = _sounddevice()
    try:
        output = sd.query_devices(kind="output")
    except sd.PortAudioError:
        output = None
    name = wasapi_loopback_name(sd.query_devices(), sd.query_hostapis(), output)
    if name is None:
        raise VivavoceError("no WASAPI loopback input was found: recording system sound on Windows needs "
                            "a PortAudio with loopback (newer than 19.7.0, which sounddevice bundles); "
                            "or send the sound to a virtual cable such as VB-CABLE and choose it as input")
    return name


def wasapi_loopback_name(devices, hostapis, default_output=None) -> str | None:
    """The loopback input of ``default_output`` (or of any output) among PortAudio's ``devices``.

    PortAudio's WASAPI host lists a loopback capture device for each output, named after it with
    " [Loopback]" appended. The default output may come from another host (MME cuts names to 31
    characters), so its name is matched as a prefix.
    """
    wasapi = {index for index, api in enumerate(hostapis) if "WASAPI" in api["name"]}
    loopbacks = [d["name"] for d in devices
                 if d["hostapi"] in wasapi and d["max_input_channels"] > 0 and d["name"].endswith("[Loopback]")]
    if default_output is not None:
        chosen = [name for name in loopbacks if name.startswith(default_output["name"])]
        loopbacks = chosen or loopbacks
    return loopbacks[0] if loopbacks else None


def _pactl(*args: str) -> str:
    """pactl's output; empty when pactl is missing or no sound server answers."""
    if shutil.which("pactl") is None:
        return ""
    result = subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=10)
    return result.stdout if result.returncode == 0 else ""


def _pulse_sources() -> dict[str, int]:
    """PulseAudio source names and their indexes."""
    sources = {}
    for line in _pactl("list", "short", "sources").splitlines():
        fields = line.split("\t")
        if len(fields) >= 2 and fields[0].isdigit():
            sources[fields[1]] = int(fields[0])
    return sources


class _PulseSourceWatch:
    """Calls ``on_lost(reason)`` when a PulseAudio source is removed, or, with ``follow_default``,
    when the default output changes to one whose monitor is another source.

    PulseAudio does not end a stream whose source goes away: it moves it to the
    fallback source, so PortAudio keeps delivering (other) audio. Nor does it move a
    monitor stream to a new default output (a headset plugged in mid-call), whose sound
    the old monitor then no longer carries. ``pactl subscribe`` reports both; a thread
    blocks reading its lines.
    """

    def __init__(self, source: str, on_lost, follow_default: bool = False):
        if shutil.which("pactl") is None:
            raise AudioError(f"cannot record {source!r}: pactl was not found "
                             "(on Debian install pulseaudio-utils)")
        index = _pulse_sources().get(source)
        if index is None:
            raise AudioError(f"the sound server has no source {source!r} "
                             "(see `pactl list short sources`)")
        self._source = source
        self._removed = f"Event 'remove' on source #{index}"
        self._follow_default = follow_default
        self._on_lost = on_lost
        self._process = subprocess.Popen(["pactl", "subscribe"], stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL, text=True)
        self._thread = threading.Thread(target=self._watch, name="vivavoce-pulse-watch", daemon=True)
        self._thread.start()

    def _watch(self):
        for line in self._process.stdout:
            line = line.strip()
            if line == self._removed:
                self._on_lost("the sound server removed it")
                return
            if self._follow_default and line.startswith("Event 'change' on server"):
                # The default sink is a server property; the server announces any change to it.
                try:
                    default = system_source_device()
                except (OSError, subprocess.SubprocessError):
                    continue  # a server too busy to answer now: the next change asks again
                if default is not None and default != self._source:
                    self._on_lost(f"the default output is now {default.removesuffix('.monitor')!r}")
                    return

    def close(self):
        self._process.terminate()
        self._process.wait()
        self._process.stdout.close()
        self._thread.join()


@contextlib.contextmanager
def _environment(name: str, value: str | None):
    """Set an environment variable for the duration (libpulse reads it when a device opens)."""
    if value is None:
        yield
        return
    saved = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if saved is None:
            del os.environ[name]
        else:
            os.environ[name] = saved


class MicrophoneSource:
    """A live audio input read as 16 kHz mono float32: a microphone, or system sound.

    ``device`` is a PortAudio device index, a part of its name ("USB", "pulse"),
    or None for the default input. ``pulse_source`` names a PulseAudio/PipeWire
    source to record through the ``pulse`` device (``system_sound()`` uses the
    default sink's monitor). ``buffer_seconds`` of audio wait for the reader
    before the oldest is dropped.

    ``read`` raises AudioError naming the device when the stream fails, its
    device disappears, or no audio comes for ``STALL_SECONDS``; ``reconnect``
    then tries to open it again.
    """

    def __init__(self, device: int | str | None = None, *, pulse_source: str | None = None,
                 buffer_seconds: float = 10.0):
        self.device = device
        self.pulse_source = pulse_source
        self.buffer_seconds = buffer_seconds
        self.name = pulse_source or (str(device) if device is not None else "default input")
        self.system = False  # system sound: follows the default output when it reconnects
        self.rate = None
        self._stream = None
        self._watch = None
        self._ring = None
        self._resampler = None
        self._failure = None

    @classmethod
    def system_sound(cls, buffer_seconds: float = 10.0) -> "MicrophoneSource":
        """What the computer plays (Linux: the default sink's monitor, through ``pulse``; Windows:
        the WASAPI loopback of the default output)."""
        monitor = system_source_device()
        if sys.platform == "win32":
            source = cls(monitor, buffer_seconds=buffer_seconds)
        elif monitor is None:
            raise AudioError("no system sound source was found (is PulseAudio or PipeWire "
                             "running? `pactl list short sources` should list a .monitor source)")
        else:
            source = cls("pulse", pulse_source=monitor, buffer_seconds=buffer_seconds)
        source.system = True
        return source

    @property
    def dropped_seconds(self) -> float:
        """Seconds of audio lost because the reader fell behind."""
        return 0.0 if self._ring is None else self._ring.dropped / self.rate

    def __enter__(self) -> "MicrophoneSource":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        """Open the device and start recording; the first audio takes up to ~2 s to come."""
        sd = _sounddevice()
        try:
            index = self._resolve(sd)
            info = sd.query_devices(index)
            self.name = self.pulse_source or info["name"]
            self._watch = (_PulseSourceWatch(self.pulse_source, self._on_lost, follow_default=self.system)
                           if self.pulse_source else None)
            with _environment("PULSE_SOURCE", self.pulse_source):
                self._open(sd, index, info)
        except (sd.PortAudioError, OSError, subprocess.SubprocessError) as error:
            # PortAudio, or a sound server that does not answer `pactl` in time.
            self._close()
            raise AudioError(f"cannot record from {self.name!r}: {error}") from None

    def stop(self) -> None:
        """Stop recording and close the device."""
        self._close()

    def reconnect(self) -> None:
        """Close the stream and open the device again (after ``read`` raised AudioError). System
        sound records the default output as it is now: the one it recorded may have gone (a
        headset unplugged), and the sound with it."""
        self._close()
        if self.system:
            now = MicrophoneSource.system_sound(self.buffer_seconds)
            self.device, self.pulse_source = now.device, now.pulse_source
        self.start()

    def read(self, timeout: float | None = None) -> np.ndarray:
        """The 16 kHz samples recorded since the last read; empty after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self._check()
            wait = _CHECK_SECONDS if deadline is None else min(_CHECK_SECONDS, deadline - time.monotonic())
            samples = self._ring.read(timeout=max(0.0, wait))
            if len(samples):
                samples = self._resampler.process(samples) if self._resampler else samples
                if len(samples):
                    self._check()
                    return samples
            if deadline is not None and time.monotonic() >= deadline:
                return np.zeros(0, dtype=np.float32)

    def _resolve(self, sd) -> int:
        """The PortAudio index of ``self.device``, refreshing PortAudio's list once if needed."""
        for attempt in range(2):
            devices = [d for d in sd.query_devices() if d["max_input_channels"] > 0]
            if not devices:
                index = None
            elif self.device is None:
                index = _default_input_index()
            elif isinstance(self.device, int):
                index = self.device if any(d["index"] == self.device for d in devices) else None
            else:
                wanted = self.device.lower()
                matches = ([d for d in devices if d["name"].lower() == wanted]
                           or [d for d in devices if wanted in d["name"].lower()])
                index = matches[0]["index"] if matches else None
            if index is not None:
                return index
            if attempt == 0 and self._stream is None:
                # PortAudio lists devices once, when it starts; a device plugged in
                # later appears only after a restart (sounddevice issue #125).
                sd._terminate()
                sd._initialize()
        if not devices:
            raise AudioError(NO_INPUT)
        raise AudioError(f"no audio input matches {self.device!r} (see `vivavoce devices`)")

    def _open(self, sd, index: int, info: dict) -> None:
        channels = 1
        try:
            sd.check_input_settings(device=index, channels=1, samplerate=SAMPLE_RATE, dtype="float32")
            self.rate = SAMPLE_RATE
        except sd.PortAudioError:
            self.rate = int(info["default_samplerate"])
            try:
                sd.check_input_settings(device=index, channels=1, samplerate=self.rate, dtype="float32")
            except sd.PortAudioError:
                channels = max(1, min(info["max_input_channels"], 2))
        block = self.rate // 50
        self._ring = RingBuffer(int(self.buffer_seconds * self.rate))
        self._resampler = None if self.rate == SAMPLE_RATE else StreamResampler(self.rate)
        self._mix = np.zeros(block, dtype=np.float32)
        self._failure = None
        self._stopping = False
        callback = self._write_mono if channels == 1 else self._write_downmixed
        self._stream = sd.InputStream(device=index, channels=channels, samplerate=self.rate,
                                      blocksize=block, dtype="float32", callback=callback,
                                      finished_callback=self._finished)
        self._stream.start()
        self._seen = 0
        self._seen_at = time.monotonic() + STARTUP_SECONDS - STALL_SECONDS

    # The two callbacks run on PortAudio's real-time thread: copy and return.
    def _write_mono(self, indata, frames, time_info, status):
        self._ring.write(indata[:, 0])

    def _write_downmixed(self, indata, frames, time_info, status):
        mix = self._mix[:frames]
        np.sum(indata, axis=1, out=mix)
        mix *= 1.0 / indata.shape[1]
        self._ring.write(mix)

    def _finished(self):
        if not self._stopping:
            self._on_lost("the audio stream ended")

    def _on_lost(self, reason: str = "the sound server removed it") -> None:
        self._failure = f"audio input {self.name!r} was lost ({reason})"
        if self._ring is not None:
            self._ring.wake()

    def _check(self) -> None:
        """Raise AudioError if the stream failed or stalled; close it then."""
        if self._failure is None and self._stream is not None:
            now = time.monotonic()
            if self._ring.written != self._seen:
                self._seen, self._seen_at = self._ring.written, now
            elif now - self._seen_at > STALL_SECONDS:
                self._failure = (f"audio input {self.name!r} stopped sending sound "
                                 f"(nothing for {STALL_SECONDS:g} s; was it unplugged?)")
        if self._failure is not None:
            self._close()
            raise AudioError(self._failure)
        if self._ring is None:
            raise RuntimeError("read() before start()")

    def _close(self) -> None:
        if self._watch is not None:
            self._watch.close()
            self._watch = None
        if self._stream is not None:
            self._stopping = True
            self._stream.abort()
            self._stream.close()
            self._stream = None


def record_utterance(source: "MicrophoneSource", on_ready=None, pause_seconds: float = 1.5,
                     max_seconds: float = 30.0, settle_seconds: float = 0.5) -> np.ndarray:
    """One utterance from an open ``source``: from when audio flows until a pause after speech.

    The first ``settle_seconds`` of audio measure the room's quiet; a block is speech when it
    is 15 dB above that and louder than -55 dBFS. Recording ends ``pause_seconds`` after the
    last speech, or after ``max_seconds``. ``on_ready()`` is called once audio flows (the
    moment to ask the user to speak). Raises AudioError when nothing but quiet was heard.
    """
    blocks: list[np.ndarray] = []
    recorded = quiet = 0.0
    floor: float | None = None
    heard = False
    while recorded < max_seconds:
        block = source.read(timeout=0.1)
        if not len(block):
            continue
        if not blocks and on_ready is not None:
            on_ready()
        blocks.append(block)
        recorded += len(block) / 16000
        level = 20 * math.log10(max(float(np.sqrt(np.mean(np.square(block, dtype=np.float64)))), 1e-6))
        if recorded <= settle_seconds:
            floor = level if floor is None else min(floor, level)
            continue
        if level > max((floor if floor is not None else -120.0) + 15.0, -55.0):
            heard, quiet = True, 0.0
        elif heard:
            quiet += len(block) / 16000
            if quiet >= pause_seconds:
                break
    if not heard:
        raise AudioError(f"nothing was heard from {source.name!r} in {recorded:.0f} s: check the microphone "
                         "and its level (`vivavoce devices` lists the inputs)")
    return np.concatenate(blocks)
