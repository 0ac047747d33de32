"""Live captions end to end: speech played into the audio server is captioned through the real
capture path (the default sink's monitor, sounddevice, the ring buffer, the streaming recogniser)."""

import subprocess
import threading
import time

from conftest import SINK
from engine import captioning
from engine.capture import MicrophoneSource
from engine.device import resolve_device
from engine.recognizer import Recognizer
from engine.store import load_model
from engine.stream import StreamingRecognizer
from training.metrics import character_error_rate


def caption_system_sound(recognizer: Recognizer, play) -> tuple[list[str], list[str]]:
    """Caption the system sound while ``play()`` runs, then 1.5 s more: (final captions, warnings)."""
    finals, warnings, stop, flowing = [], [], threading.Event(), threading.Event()

    def on_event(event):
        if event.kind == "final" and event.words:
            finals.append(event.text)

    session = captioning.Session(MicrophoneSource.system_sound(), lambda: StreamingRecognizer(recognizer),
                                 on_event, warnings.append, on_level=lambda rms: flowing.set())
    worker = threading.Thread(target=session.run, args=(stop.is_set,))
    worker.start()
    try:
        assert flowing.wait(10), "no audio from the system-sound source"
        time.sleep(0.5)
        play()
        time.sleep(1.5)
    finally:
        stop.set()
        worker.join(30)
    assert not worker.is_alive()
    return finals, warnings


def test_speech_played_into_the_audio_server_is_captioned(null_sink, trained_model):
    # The tests' tiny model knows only its own few sentences: play one of them, as a user's
    # computer would play a video, and read the captions of what the monitor heard.
    folder, clips = trained_model
    wav, said = next((path, text) for path, text in clips.items() if text.startswith("every cloud"))
    recognizer = Recognizer(load_model(str(folder)), resolve_device("cpu"))

    finals, warnings = caption_system_sound(
        recognizer, lambda: subprocess.run(["paplay", "-d", SINK, str(wav)], check=True, timeout=30))

    heard = " ".join(finals)
    assert character_error_rate([said], [heard]) < 0.35, heard
    assert warnings == []


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"no {what} in {seconds} s"
        time.sleep(0.05)


def say(wav, started: float) -> float:
    """Play ``wav`` into the sink after 0.5 s, then wait 1.5 s; returns when it began, in seconds
    after ``started``."""
    time.sleep(0.5)
    said_at = time.monotonic() - started
    subprocess.run(["paplay", "-d", SINK, str(wav)], check=True, timeout=30)
    time.sleep(1.5)
    return said_at


def assert_captioned_at(words, said: str, said_at: float) -> None:
    """The final words from a second before ``said_at`` on read ``said``, and start by 2 s after it."""
    heard = [w for w in words if w.start >= said_at - 1.0]
    assert character_error_rate([said], [" ".join(w.text for w in heard)]) < 0.35, (said_at, words)
    assert heard[0].start < said_at + 2.0


def test_captions_after_the_sound_device_came_back_are_timed_by_the_clock(null_sink, trained_model):
    """The seconds without a device count: a sentence said after the outage is stamped when it was
    said, so the transcript's times stay true to the meeting's."""
    folder, clips = trained_model
    wav, said = next((path, text) for path, text in clips.items() if text.startswith("every cloud"))
    recognizer = Recognizer(load_model(str(folder)), resolve_device("cpu"))
    words, warnings, stop, flowing = [], [], threading.Event(), threading.Event()
    session = captioning.Session(
        MicrophoneSource.system_sound(), lambda: StreamingRecognizer(recognizer),
        lambda event: words.extend(event.words) if event.kind == "final" else None,
        warnings.append, on_level=lambda rms: flowing.set())
    worker = threading.Thread(target=session.run, args=(stop.is_set,))
    worker.start()
    try:
        wait_for(flowing.is_set, 10, "audio from the system-sound source")
        started = time.monotonic()  # the stream's time 0, give or take its first block
        null_sink.unload()
        try:
            wait_for(lambda: any("trying to reconnect" in w for w in warnings), 10, "warning")
            time.sleep(1.0)
        finally:
            null_sink.load()
        wait_for(lambda: any("reconnected" in w for w in warnings), 10, "reconnection")
        flowing.clear()
        wait_for(flowing.is_set, 10, "audio after the reconnection")
        said_at = say(wav, started)
    finally:
        stop.set()
        worker.join(30)
    assert not worker.is_alive()

    assert_captioned_at(words, said, said_at)


def test_captions_after_dropped_audio_are_timed_by_the_clock(null_sink, trained_model):
    """Recognition stalls for 3 s (as on a loaded computer) while a 0.3 s buffer fills: the audio
    it could not hold is dropped and counted, and a sentence said afterwards keeps its true time."""
    folder, clips = trained_model
    wav, said = next((path, text) for path, text in clips.items() if text.startswith("every cloud"))
    recognizer = Recognizer(load_model(str(folder)), resolve_device("cpu"))
    words, warnings, stop, flowing, stall = [], [], threading.Event(), threading.Event(), threading.Event()
    source = MicrophoneSource.system_sound(buffer_seconds=0.3)

    def level(rms):
        flowing.set()
        if stall.is_set():
            stall.clear()
            time.sleep(3.0)

    session = captioning.Session(source, lambda: StreamingRecognizer(recognizer),
                                 lambda event: words.extend(event.words) if event.kind == "final" else None,
                                 warnings.append, on_level=level)
    worker = threading.Thread(target=session.run, args=(stop.is_set,))
    worker.start()
    try:
        wait_for(flowing.is_set, 10, "audio from the system-sound source")
        started = time.monotonic()
        stall.set()
        wait_for(lambda: source.dropped_seconds > 2.0, 10, "dropped audio")
        said_at = say(wav, started)
    finally:
        stop.set()
        worker.join(30)
    assert not worker.is_alive() and warnings == []

    assert_captioned_at(words, said, said_at)
