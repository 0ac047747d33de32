"""Reading audio files as 16 kHz mono float32, a window at a time.

Files are decoded with ``soundfile`` (WAV, FLAC, OGG, MP3, ... at any rate and
channel count) and resampled with torchaudio's sinc resampler. A window read
decodes only the source frames it needs, so memory stays flat however long
the file is, and its samples equal those of resampling the whole file.
"""

import contextlib
import functools
import math
import os
import sys

import numpy as np
import soundfile
import torch
import torchaudio

from engine.errors import AudioError

SAMPLE_RATE = 16000
"""The rate, in Hz, of every waveform the engine handles."""

# torchaudio's resampling kernel holds (16 kHz / gcd) x (rate / gcd) taps: a rate
# sharing no large divisor with 16 kHz (44101 Hz, say) would need gigabytes.
_MAX_KERNEL_TAPS = 1 << 24

# libsndfile seeks inside Vorbis and MP3 streams only approximately (landing a
# block off, libsndfile issue #885, or decoding garbage until the MP3 bit
# reservoir refills), so those files are decoded forward, never seeked into.
_DECODED_FORWARD = {"OGG", "MP3"}

# How many source frames to decode at a time when skipping ahead in them.
_SKIP_FRAMES = 1 << 16


@contextlib.contextmanager
def _native_stderr_silenced():
    """Silence file descriptor 2 for a moment.

    libsndfile's MP3 decoder (libmpg123) prints notes about malformed data
    straight to the process's stderr; the user gets our one-line error instead.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@functools.lru_cache(maxsize=8)
def _resampler(source_rate: int) -> torchaudio.transforms.Resample:
    """The resampler from ``source_rate`` Hz to 16 kHz; its kernel is built once."""
    return torchaudio.transforms.Resample(source_rate, SAMPLE_RATE)


class AudioFile:
    """An open audio file, read as 16 kHz mono float32 samples.

    Raises ``AudioError``, with a one-line message naming the file, when the
    file is missing, a folder, empty, not readable audio, or at a sample rate
    that cannot be resampled to 16 kHz.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        if not os.path.exists(self.path):
            raise AudioError(f"{self.path}: no such file")
        if os.path.isdir(self.path):
            raise AudioError(f"{self.path}: is a folder, not an audio file")
        if os.path.getsize(self.path) == 0:
            raise AudioError(f"{self.path}: the file is empty")
        try:
            with _native_stderr_silenced():
                self._file = soundfile.SoundFile(self.path)
        except soundfile.LibsndfileError as error:
            reason = _one_line(error.error_string)
            if "not a regular file" in reason:  # what libsndfile says when even its MP3 probe fails
                reason = "format not recognised"
            raise AudioError(f"{self.path}: not a readable audio file ({reason})") from None
        if self._file.frames == 0:
            self._file.close()
            raise AudioError(f"{self.path}: contains no audio")
        # Source frames and 16 kHz samples line up every `_block_frames` and
        # `_block_samples` respectively: the resampler's period.
        divisor = math.gcd(self.source_rate, SAMPLE_RATE)
        self._block_frames = self.source_rate // divisor
        self._block_samples = SAMPLE_RATE // divisor
        if self._block_frames * self._block_samples > _MAX_KERNEL_TAPS:
            self._file.close()
            raise AudioError(f"{self.path}: a sample rate of {self.source_rate} Hz is not supported")
        self._decoded = (0, np.zeros(0, dtype=np.float32))

    @property
    def source_rate(self) -> int:
        """The file's own sample rate, in Hz."""
        return self._file.samplerate

    @property
    def channels(self) -> int:
        """The file's number of channels (they are averaged when read)."""
        return self._file.channels

    @property
    def duration(self) -> float:
        """The length of the audio, in seconds."""
        return self._file.frames / self.source_rate

    @property
    def num_samples(self) -> int:
        """The length of the audio, in samples at 16 kHz."""
        return math.ceil(self._file.frames * SAMPLE_RATE / self.source_rate)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Samples ``[start, stop)`` at 16 kHz, mono float32, shape ``(samples,)``.

        ``start`` and ``stop`` are 16 kHz sample indices, clipped to the file.
        The result equals the same slice of the whole file resampled at once.
        """
        start, stop = max(start, 0), min(stop, self.num_samples)
        if stop <= start:
            return np.zeros(0, dtype=np.float32)
        if self.source_rate == SAMPLE_RATE:
            return self._read_frames(start, stop)
        resampler = _resampler(self.source_rate)
        # Decode whole resampler periods, with enough more on each side that
        # the kernel never sees the zeros padding the decoded span where the
        # file goes on: the kept samples then match a whole-file resample.
        margin = math.ceil(resampler.width / self._block_frames) + 1
        first_block = max(start // self._block_samples - margin, 0)
        last_block = stop // self._block_samples + 1 + margin
        frames = self._read_frames(first_block * self._block_frames, last_block * self._block_frames)
        if len(frames) == 0:  # the stream ends before its header said
            return frames
        samples = resampler(torch.from_numpy(frames)).numpy()
        offset = first_block * self._block_samples
        return samples[start - offset : stop - offset]

    def _read_frames(self, start: int, stop: int) -> np.ndarray:
        """Source frames ``[start, stop)`` (clipped to the file), averaged over channels."""
        if self._file.format in _DECODED_FORWARD:
            return self._decode_forward(start, stop)
        self._file.seek(start)
        return self._decode(stop - start)

    def _decode_forward(self, start: int, stop: int) -> np.ndarray:
        """``_read_frames`` without seeking, except back to the start of the file.

        ``self._decoded`` holds ``(first, frames)``: the frames decoded last,
        ending where the decoder stands, so overlapping reads reuse them.
        """
        first, frames = self._decoded
        if start < first:
            self._file.seek(0)
            first, frames = 0, frames[:0]
        position = first + len(frames)
        if start < position:
            first, frames = start, frames[start - first :]
        else:
            while position < start:
                skipped = len(self._decode(min(start - position, _SKIP_FRAMES)))
                if skipped == 0:  # the stream ends before its header said
                    self._decoded = (position, frames[:0])
                    return frames[:0]
                position += skipped
            first, frames = start, frames[:0]
        if stop > first + len(frames):
            frames = np.concatenate([frames, self._decode(stop - first - len(frames))])
        self._decoded = (first, frames)
        return frames[: stop - first]

    def _decode(self, count: int) -> np.ndarray:
        """The next ``count`` source frames (fewer at the end), averaged over channels."""
        quiet = _native_stderr_silenced() if self._file.format == "MP3" else contextlib.nullcontext()
        try:
            with quiet:
                frames = self._file.read(count, dtype="float32", always_2d=True)
        except soundfile.LibsndfileError as error:
            raise AudioError(f"{self.path}: cannot be decoded ({_one_line(error.error_string)})") from None
        return frames.mean(axis=1, dtype=np.float32)

    def close(self) -> None:
        """Closes the file; reading afterwards is an error."""
        self._file.close()

    def __enter__(self) -> "AudioFile":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def normalized(samples: np.ndarray) -> np.ndarray:
    """``samples`` scaled to zero mean and unit variance, float32: the input of a model whose
    folder says ``normalize_input`` (training and recognition both use this one function)."""
    return ((samples - samples.mean()) / np.sqrt(samples.var() + 1e-7)).astype(np.float32)


def load_audio(path: str | os.PathLike) -> np.ndarray:
    """The whole file at 16 kHz, mono float32, shape ``(samples,)``; for short files."""
    with AudioFile(path) as audio:
        return audio.read(0, audio.num_samples)


def _one_line(text: str) -> str:
    return " ".join(text.split())
