"""Recognition off the GUI thread: a QThread hosts the engine's captioning session.

The worker loads the model, opens the source and runs `engine.captioning.Session`
in its own thread; it reports to the window through Qt signals only (queued
across the threads), so the window never waits on the engine. The window asks
it to pause, resume or stop through thread-safe flags, which the session loop
checks between blocks of audio.
"""

import threading
import time
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from engine.errors import VivavoceError
from engine.transcripts import TranscriptRecorder

SOURCES = ("mic", "system", "file")
LEVEL_INTERVAL = 0.05  # seconds between level reports (20 per second is smooth enough for a meter)


@dataclass(frozen=True)
class CaptionRequest:
    source: str = "mic"  # "mic", "system" or "file"
    input_device: str | None = None  # a microphone's name or number; None: the default one
    file: str = ""
    model: str | None = None  # a model name or folder; None: the default model
    compute: str = "auto"  # "auto", "cpu" or "cuda"
    realtime: bool = True  # a file plays at the pace of real time

    def describe(self) -> str:
        if self.source == "file":
            return self.file
        if self.source == "system":
            return "system sound"
        return f"microphone {self.input_device}" if self.input_device else "the default microphone"


class CaptionWorker(QObject):
    loading = Signal(str)  # what is being prepared
    started = Signal(str, str)  # compute device ("cpu", "cuda"), model name
    partial = Signal(object)  # list[Word]
    final = Signal(object)  # list[Word]
    level = Signal(float)  # input RMS, 0..1
    stats = Signal(object)  # engine.captioning.Stats
    warning = Signal(str)  # the session goes on (a device reconnecting, a fall back to the CPU)
    failed = Signal(str)  # the session ended on an error, in one line
    finished = Signal()

    def __init__(self, request: CaptionRequest, save_transcript: bool = True):
        super().__init__()
        self.request = request
        self.save_transcript = save_transcript
        # The session's transcript file, or None: made, written and closed in this worker's
        # thread, each final caption synced to disk before it is shown, so that a slow disk
        # holds this thread and never the window's.
        self.recorder: TranscriptRecorder | None = None
        self._stop = threading.Event()
        self._pause = threading.Event()
        self._last_level = 0.0

    # Called from the GUI thread.
    def stop(self) -> None:
        self._stop.set()

    def set_paused(self, paused: bool) -> None:
        (self._pause.set if paused else self._pause.clear)()

    @property
    def paused(self) -> bool:
        return self._pause.is_set()

    # Runs in the worker thread.
    @Slot()
    def run(self) -> None:
        try:
            self._run()
        except VivavoceError as error:
            self.failed.emit(str(error))
        except MemoryError:
            self.failed.emit("the computer ran out of memory; close other programs or choose a smaller model")
        except Exception as error:  # noqa: BLE001 - the app must keep running and say what happened
            self.failed.emit(f"captions stopped: {type(error).__name__}: {error}")
        finally:
            if self.recorder is not None:
                self.recorder.close()
            self.finished.emit()

    def _run(self) -> None:
        from engine import captioning
        from engine.device import resolve_device
        from engine.recognizer import Recognizer
        from engine.store import load_model
        from engine.stream import StreamingRecognizer

        request = self.request
        if self.save_transcript:
            try:
                self.recorder = TranscriptRecorder(request.describe(), request.model or "")
            except VivavoceError as error:
                self.warning.emit(f"{error}; captions will not be saved")
        self.loading.emit("Loading the model…")
        loaded = load_model(request.model)
        recognizer = Recognizer(loaded, resolve_device(request.compute), on_warning=self.warning.emit)
        if self._stop.is_set():
            return
        source = self._source()
        self.started.emit(recognizer.device.type, loaded.config.name or str(loaded.path))
        session = captioning.Session(source, lambda: StreamingRecognizer(recognizer), self._event,
                                     self.warning.emit, on_level=self._level, on_stats=self.stats.emit)
        session.run(self._stop.is_set, self._pause.is_set)

    def _source(self):
        from engine import captioning

        request = self.request
        if request.source == "file":
            if not request.file:
                raise VivavoceError("no audio file chosen: pick one with Browse…")
            return captioning.FileSource(request.file, realtime=request.realtime)
        from engine.capture import MicrophoneSource

        if request.source == "system":
            return MicrophoneSource.system_sound()
        return MicrophoneSource(request.input_device)

    def _event(self, event) -> None:
        if event.kind == "final" and event.words and self.recorder is not None:
            try:
                self.recorder.add(event.words)
            except VivavoceError as error:
                recorder, self.recorder = self.recorder, None
                recorder.close()
                self.warning.emit(f"{error}; captions go on but are no longer saved")
        (self.final if event.kind == "final" else self.partial).emit(event.words)

    def _level(self, rms: float) -> None:
        now = time.monotonic()
        if now - self._last_level >= LEVEL_INTERVAL:
            self._last_level = now
            self.level.emit(rms)


class CaptionThread(QThread):
    """The thread a worker lives in; it ends when the worker finishes."""

    def __init__(self, worker: CaptionWorker, parent: QObject | None = None):
        super().__init__(parent)
        self.worker = worker
        worker.moveToThread(self)
        self.started.connect(worker.run)
        # Directly, from the worker's thread: a window closing blocks the GUI thread in wait().
        worker.finished.connect(self.quit, Qt.ConnectionType.DirectConnection)
