"""A captioning session: audio from a source, through the streaming recogniser, to whoever listens.

The command line and the desktop app run the same loop; they differ only in
what they do with each caption event.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .audio import SAMPLE_RATE, AudioFile
from .errors import AudioError
from .stream import CaptionEvent, StreamingRecognizer
from .transcript import Word

RECONNECT_SECONDS = 1.0


class FileSource:
    """An audio file as a live source: at the pace of real time, or as fast as it can be read."""

    live = False  # pausing waits where it is, rather than letting audio go by

    def __init__(self, path: str, realtime: bool = True, block_seconds: float = 0.1):
        self.name = str(path)
        self.realtime = realtime
        self.block = int(block_seconds * SAMPLE_RATE)
        self.audio: AudioFile | None = None
        self.position = 0
        self.started = 0.0
        self.dropped_seconds = 0.0

    @property
    def finished(self) -> bool:
        return self.audio is not None and self.position >= self.audio.num_samples

    def start(self) -> None:
        self.audio = AudioFile(self.name)
        self.position = 0
        self.started = time.monotonic()

    def stop(self) -> None:
        if self.audio is not None:
            self.audio.close()

    def reconnect(self) -> None:
        """A file does not go away; nothing to do."""

    def __enter__(self) -> "FileSource":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def read(self, timeout: float | None = None) -> np.ndarray:
        """The next block (0.1 s), waiting until real time has reached it when playing in real time."""
        if self.finished:
            return np.zeros(0, dtype=np.float32)
        if self.realtime:
            due = self.started + (self.position + self.block) / SAMPLE_RATE
            late = time.monotonic() - due
            if late > 0.5:  # held up (a pause): play on from here rather than rush to catch up
                self.started += late
                due += late
            time.sleep(max(0.0, due - time.monotonic()))
        samples = self.audio.read(self.position, self.position + self.block)
        self.position += self.block
        return samples


@dataclass
class Stats:
    """How the session keeps up, over the last few seconds.

    ``rtf``: seconds spent recognising per second of audio (below 1 keeps up). ``delay``: seconds
    from a sample's arrival to its caption (audio that waited in the buffer plus the time to
    recognise it). ``dropped``: seconds of audio the source dropped because recognition fell behind.
    """

    rtf: float
    delay: float
    dropped: float
    device: str


class Session:
    """Caption ``source`` with a fresh ``StreamingRecognizer`` from ``make_streaming()``.

    ``run(stopped, paused)`` blocks until the source ends or ``stopped()``. While ``paused()``, a
    live source is still read (so that captions resume with current audio) but not recognised,
    and a file waits where it is; the caption in progress becomes final at the pause. Times keep
    counting across pauses, a device's outage and audio dropped because recognition fell behind
    (the caption in progress becomes final at those too). Listeners: ``on_event(CaptionEvent)``,
    ``on_warning(str)``, ``on_level(rms)`` for every block read, ``on_stats(Stats)`` about once a
    second.
    """

    def __init__(self, source, make_streaming: Callable[[], StreamingRecognizer],
                 on_event: Callable[[CaptionEvent], None], on_warning: Callable[[str], None],
                 on_level: Callable[[float], None] | None = None,
                 on_stats: Callable[[Stats], None] | None = None, stats_seconds: float = 1.0):
        self.source = source
        self.make_streaming = make_streaming
        self.on_event, self.on_warning = on_event, on_warning
        self.on_level, self.on_stats = on_level, on_stats
        self.stats_seconds = stats_seconds
        self.offset = 0.0  # seconds of the stream before the current recogniser started
        self.heard = 0.0  # seconds of the stream so far: read from the source, or lost (dropped, an outage)
        self._dropped = 0.0  # the source's count of dropped seconds, as last seen
        self._work = [0.0, 0.0, 0.0]  # recognition seconds, audio seconds, delay sum, since the last stats
        self._delays = 0
        self._last_stats = time.monotonic()

    def run(self, stopped: Callable[[], bool], paused: Callable[[], bool] = lambda: False) -> None:
        streaming = self.make_streaming()
        was_paused = False
        last_sound = time.monotonic()  # when the last audio arrived
        reopened = False  # the source was lost and opened again; no sound from it yet
        with self.source:
            while not stopped():
                if paused() and not getattr(self.source, "live", True):
                    was_paused = self._pause(streaming, was_paused)
                    time.sleep(0.05)
                    continue
                try:
                    samples = self.source.read(timeout=0.5)
                except AudioError as error:
                    self.on_warning(f"{error}; trying to reconnect")
                    self._emit(streaming.flush())  # the caption in progress ends with the sound
                    _reconnect(self.source, stopped, self.on_warning)
                    reopened = True
                    continue
                arrived = time.monotonic()
                if not len(samples):
                    if getattr(self.source, "finished", False):
                        break
                    continue
                if reopened:
                    # The first sound since the outage: what follows is timed after it, by the clock.
                    streaming = self._restart(max(0.0, arrived - len(samples) / SAMPLE_RATE - last_sound))
                    self._dropped, reopened = 0.0, False  # a reopened source counts afresh
                last_sound = arrived
                dropped = float(getattr(self.source, "dropped_seconds", 0.0))
                if dropped > self._dropped:
                    # Audio was dropped before this block (recognition fell behind): what
                    # follows was said that much later.
                    self._emit(streaming.flush())
                    streaming = self._restart(dropped - self._dropped)
                    self._dropped = dropped
                self.heard += len(samples) / SAMPLE_RATE
                if self.on_level:
                    self.on_level(float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))))
                if paused() and getattr(self.source, "live", True):
                    was_paused = self._pause(streaming, was_paused)
                    continue
                # (A file paused while this block was being read keeps it: the pause takes hold
                # at the top of the loop, after it, so that no audio of the file is skipped.)
                if was_paused:
                    streaming, was_paused = self._resume(len(samples)), False
                self._emit(streaming.feed(samples))
                self._measure(streaming, len(samples), arrived)
        self._emit(streaming.flush())

    def _pause(self, streaming: StreamingRecognizer, was_paused: bool) -> bool:
        if not was_paused:
            self._emit(streaming.flush())
        return True

    def _restart(self, gap: float) -> StreamingRecognizer:
        """A new recogniser whose times continue ``gap`` seconds after the audio heard so far."""
        self.heard += gap
        self.offset = self.heard
        return self.make_streaming()

    def _resume(self, incoming: int) -> StreamingRecognizer:
        """A new recogniser whose times continue from where the stream is now."""
        self.offset = self.heard - incoming / SAMPLE_RATE
        return self.make_streaming()

    def _emit(self, events: list[CaptionEvent]) -> None:
        for event in events:
            if self.offset:
                event = CaptionEvent(event.kind, [Word(w.text, w.start + self.offset, w.end + self.offset,
                                                       w.confidence) for w in event.words])
            self.on_event(event)

    def _measure(self, streaming: StreamingRecognizer, samples: int, arrived: float) -> None:
        now = time.monotonic()
        audio = samples / SAMPLE_RATE
        self._work[0] += now - arrived
        self._work[1] += audio
        # The block's middle sample waited half the block before it was read.
        self._work[2] += audio / 2 + (now - arrived)
        self._delays += 1
        if self.on_stats and now - self._last_stats >= self.stats_seconds and self._work[1]:
            device = streaming.recognizer.device.type
            self.on_stats(Stats(rtf=self._work[0] / self._work[1], delay=self._work[2] / self._delays,
                                dropped=float(getattr(self.source, "dropped_seconds", 0.0)), device=device))
            self._work, self._delays, self._last_stats = [0.0, 0.0, 0.0], 0, now


def run(source, make_streaming: Callable[[], StreamingRecognizer], on_event: Callable[[CaptionEvent], None],
        stopped: Callable[[], bool], on_warning: Callable[[str], None]) -> None:
    """Caption ``source`` with recognisers from ``make_streaming()`` until it ends or ``stopped()``;
    a lost device is reported and reconnected."""
    Session(source, make_streaming, on_event, on_warning).run(stopped)


def _reconnect(source, stopped: Callable[[], bool], on_warning: Callable[[str], None]) -> None:
    while not stopped():
        time.sleep(RECONNECT_SECONDS)
        try:
            source.reconnect()
        except AudioError:
            continue
        on_warning(f"{source.name}: reconnected")
        return
