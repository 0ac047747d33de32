"""A captioning session: audio from a source, through the streaming recogniser, to whoever listens.

The command line and the desktop app run the same loop; they differ only in
what they do with each caption event.
"""

import time
from collections.abc import Callable

import numpy as np

from .audio import SAMPLE_RATE, AudioFile
from .errors import AudioError
from .stream import CaptionEvent, StreamingRecognizer

RECONNECT_SECONDS = 1.0


class FileSource:
    """An audio file as a live source: at the pace of real time, or as fast as it can be read."""

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
            time.sleep(max(0.0, due - time.monotonic()))
        samples = self.audio.read(self.position, self.position + self.block)
        self.position += self.block
        return samples


def run(source, streaming: StreamingRecognizer, on_event: Callable[[CaptionEvent], None],
        stopped: Callable[[], bool], on_warning: Callable[[str], None]) -> None:
    """Caption ``source`` until it ends or ``stopped()``; a lost device is reported and reconnected."""
    with source:
        while not stopped():
            try:
                samples = source.read(timeout=0.5)
            except AudioError as error:
                on_warning(f"{error}; trying to reconnect")
                _reconnect(source, stopped, on_warning)
                continue
            if len(samples):
                for event in streaming.feed(samples):
                    on_event(event)
            elif getattr(source, "finished", False):
                break
    for event in streaming.flush():
        on_event(event)


def _reconnect(source, stopped: Callable[[], bool], on_warning: Callable[[str], None]) -> None:
    while not stopped():
        time.sleep(RECONNECT_SECONDS)
        try:
            source.reconnect()
        except AudioError:
            continue
        on_warning(f"{source.name}: reconnected")
        return
