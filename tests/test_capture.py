"""Live capture: the ring buffer, and real recording from a PulseAudio null sink's monitor."""

import os
import subprocess
import sys
import threading
import time
import tracemalloc

import numpy as np
import pytest
import soundfile
import torch
import torchaudio

from conftest import MONITOR, SINK, NullSink, pactl, speak
from engine.capture import (NO_INPUT, MicrophoneSource, RingBuffer, StreamResampler, wasapi_loopback_name,
                            describe_devices, list_input_devices, system_source_device)
from engine.errors import AudioError

@pytest.fixture(scope="session")
def sentence(tmp_path_factory):
    """A short espeak-ng sentence (22.05 kHz WAV) and its samples resampled to 16 kHz."""
    path = speak("Seven green kites over the harbour", tmp_path_factory.mktemp("speech") / "s.wav")
    samples, rate = soundfile.read(path, dtype="float32")
    return path, torchaudio.functional.resample(torch.from_numpy(samples), rate, 16000).numpy()


def wait_for_audio(source: MicrophoneSource, seconds: float = 5.0) -> None:
    """Read until the stream delivers (PulseAudio's first callback comes 0.7-2 s after opening)."""
    deadline = time.monotonic() + seconds
    while not len(source.read(timeout=0.2)):
        assert time.monotonic() < deadline, f"no audio from {source.name} in {seconds} s"


def record_while_playing(source: MicrophoneSource, wav, sink: str) -> np.ndarray:
    """What ``source`` hears while paplay plays ``wav`` into ``sink``, plus 0.3 s."""
    wait_for_audio(source)
    player = subprocess.Popen(["paplay", "-d", sink, str(wav)])
    pieces = []
    while player.poll() is None:
        pieces.append(source.read(timeout=0.1))
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:
        pieces.append(source.read(timeout=0.1))
    assert player.returncode == 0
    return np.concatenate(pieces)


def similarity(reference: np.ndarray, captured: np.ndarray) -> float:
    """Correlation of ``reference`` with the part of ``captured`` where it lines up best."""
    n = 1 << int(np.ceil(np.log2(len(reference) + len(captured))))
    xcorr = np.fft.irfft(np.fft.rfft(captured, n) * np.conj(np.fft.rfft(reference, n)), n)
    lag = int(np.argmax(xcorr[:len(captured)]))
    aligned = captured[lag:lag + len(reference)]
    return float(np.corrcoef(reference[:len(aligned)], aligned)[0, 1])


def test_ring_buffer_drops_the_oldest_samples_and_counts_them():
    ring = RingBuffer(8)
    ring.write(np.arange(1, 6, dtype=np.float32))
    ring.write(np.arange(6, 12, dtype=np.float32))
    assert ring.dropped == 3
    assert ring.read(timeout=0).tolist() == list(range(4, 12))
    ring.write(np.arange(20, 40, dtype=np.float32))
    assert ring.read(timeout=0).tolist() == list(range(32, 40))
    assert ring.dropped == 15


def test_ring_buffer_reads_at_most_what_is_asked():
    ring = RingBuffer(16)
    ring.write(np.arange(10, dtype=np.float32))
    assert ring.read(max_samples=4, timeout=0).tolist() == [0, 1, 2, 3]
    assert ring.read(timeout=0).tolist() == [4, 5, 6, 7, 8, 9]
    assert ring.dropped == 0


def test_ring_buffer_reader_wakes_when_audio_arrives():
    ring = RingBuffer(1024)
    got = {}

    def reader():
        got["samples"] = ring.read(timeout=120)

    thread = threading.Thread(target=reader)
    thread.start()
    time.sleep(0.2)
    ring.write(np.ones(100, dtype=np.float32))
    thread.join(30)  # woken by the write, not by the end of its two minutes
    assert not thread.is_alive() and len(got["samples"]) == 100


def test_ring_buffer_read_returns_nothing_after_its_timeout():
    started = time.monotonic()
    assert len(RingBuffer(16).read(timeout=0.1)) == 0
    assert time.monotonic() - started > 0.09  # it waited (a lower bound: no slow machine breaks it)


def test_ring_buffer_write_allocates_nothing_per_block():
    ring = RingBuffer(48000)
    block = np.random.default_rng(0).standard_normal((4096, 1)).astype(np.float32)
    ring.write(block[:, 0])
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    for _ in range(2000):
        ring.write(block[:, 0])
    after, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert after - before < 1024
    assert peak - before < block.nbytes // 4, "a block-sized buffer was allocated"


def test_stream_resampler_in_pieces_equals_resampling_whole():
    rate = 44100
    signal = np.random.default_rng(1).standard_normal(rate).astype(np.float32)
    resampler = StreamResampler(rate)
    sizes = [383, 381, 7, 1000, 4410, 1] * 20
    cuts = np.cumsum(sizes)
    pieces = [resampler.process(piece) for piece in np.split(signal, cuts[cuts < rate])]
    streamed = np.concatenate(pieces)
    whole = torchaudio.functional.resample(torch.from_numpy(signal), rate, 16000).numpy()
    assert len(streamed) > len(whole) - 400
    np.testing.assert_allclose(streamed, whole[:len(streamed)], atol=2e-5)


def test_input_devices_include_pulse(null_sink):
    devices = list_input_devices()
    assert "pulse" in [device["name"] for device in devices]
    assert {"name", "index", "channels", "default_rate", "host_api"} <= set(devices[0])
    assert "pulse" in describe_devices()


def test_system_source_is_the_default_sinks_monitor(null_sink):
    assert system_source_device() == MONITOR


def test_microphone_hears_what_is_played_into_the_default_source(null_sink, sentence):
    wav, reference = sentence
    with MicrophoneSource("pulse") as source:
        captured = record_while_playing(source, wav, SINK)
        assert source.rate == 16000
        assert source.dropped_seconds == 0
    assert similarity(reference, captured) > 0.9


@pytest.fixture
def headset(null_sink):
    """A second output (not the default); afterwards the test sink is the default again and the
    headset gone, whatever the test did to either."""
    sink = NullSink("vivavoce_headset", default=False)
    sink.load()
    yield sink
    pactl("set-default-sink", SINK)
    if sink.module is not None:
        sink.unload()


def test_system_sound_records_the_default_sinks_monitor_not_the_default_source(headset, sentence):
    wav, reference = sentence
    pactl("set-default-sink", headset.name)
    with MicrophoneSource.system_sound() as source:
        assert source.pulse_source == "vivavoce_headset.monitor"
        captured = record_while_playing(source, wav, headset.name)
    assert similarity(reference, captured) > 0.9


def test_losing_the_device_raises_and_reconnect_recovers(null_sink, sentence):
    wav, reference = sentence
    with MicrophoneSource("pulse", pulse_source=MONITOR) as source:
        wait_for_audio(source)
        null_sink.unload()
        # Reported by the sound server's event, not later by the silence that follows.
        with pytest.raises(AudioError, match=f"{MONITOR}.*the sound server removed it"):
            for _ in range(25):
                source.read(timeout=0.2)
        null_sink.load()
        source.reconnect()
        captured = record_while_playing(source, wav, SINK)
    assert similarity(reference, captured) > 0.9


def test_system_sound_reconnects_to_the_default_output_of_the_moment(headset, sentence):
    """A headset unplugged mid-call: its output goes, the sound moves to another output, and system
    sound carries on from that one's monitor."""
    wav, reference = sentence
    pactl("set-default-sink", headset.name)
    with MicrophoneSource.system_sound() as source:
        wait_for_audio(source)
        pactl("set-default-sink", SINK)  # the server moves to the remaining output...
        headset.unload()  # ...as the headset goes
        with pytest.raises(AudioError, match="vivavoce_headset.monitor"):
            for _ in range(50):
                source.read(timeout=0.2)
        source.reconnect()
        assert source.pulse_source == MONITOR
        captured = record_while_playing(source, wav, SINK)
    assert similarity(reference, captured) > 0.9


def test_system_sound_follows_a_new_default_output_while_the_old_one_stays(headset, sentence):
    """A headset plugged in mid-call: the sound moves to it while the speakers stay. Recording the
    speakers' monitor on would give silence; the change is reported and reconnecting follows it."""
    wav, reference = sentence
    with MicrophoneSource.system_sound() as source:
        assert source.pulse_source == MONITOR
        wait_for_audio(source)
        pactl("set-default-sink", headset.name)
        with pytest.raises(AudioError, match=f"{MONITOR}.*the default output is now 'vivavoce_headset'"):
            for _ in range(50):
                source.read(timeout=0.2)
        source.reconnect()
        assert source.pulse_source == "vivavoce_headset.monitor"
        captured = record_while_playing(source, wav, headset.name)
    assert similarity(reference, captured) > 0.9


def test_a_stream_that_stops_sending_sound_raises_after_two_seconds(null_sink):
    with MicrophoneSource("pulse") as source:
        wait_for_audio(source)
        pactl("suspend-sink", SINK, "1")
        try:
            source.read(timeout=0.2)  # a short gap is not yet a stall
            with pytest.raises(AudioError, match="'pulse' stopped sending sound .nothing for 2 s"):
                for _ in range(25):
                    source.read(timeout=0.2)
        finally:
            pactl("suspend-sink", SINK, "0")


def test_without_a_sound_server_no_input_is_found_in_words():
    script = ("from engine.capture import describe_devices, MicrophoneSource\n"
              "from engine.errors import AudioError\n"
              "for attempt in (describe_devices, lambda: MicrophoneSource().start()):\n"
              "    try:\n"
              "        attempt()\n"
              "    except AudioError as error:\n"
              "        print(error)\n")
    env = dict(os.environ, PULSE_SERVER="unix:/nonexistent/vivavoce")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [NO_INPUT, NO_INPUT]


def test_the_windows_loopback_of_the_default_output_is_found_in_portaudios_list():
    # PortAudio's own listing, as its WASAPI host gives it when built with loopback support.
    hostapis = [{"name": "MME"}, {"name": "Windows DirectSound"}, {"name": "Windows WASAPI"}]
    devices = [
        {"name": "Microphone (USB Audio)", "hostapi": 0, "max_input_channels": 2},
        {"name": "Speakers (Realtek(R) Audio) [Loopback]", "hostapi": 0, "max_input_channels": 2},
        {"name": "Headphones (USB Audio)", "hostapi": 2, "max_input_channels": 0},
        {"name": "Speakers (Realtek(R) Audio)", "hostapi": 2, "max_input_channels": 0},
        {"name": "Headphones (USB Audio) [Loopback]", "hostapi": 2, "max_input_channels": 2},
        {"name": "Speakers (Realtek(R) Audio) [Loopback]", "hostapi": 2, "max_input_channels": 2},
    ]
    speakers = {"name": "Speakers (Realtek(R) Audio)"}
    assert wasapi_loopback_name(devices, hostapis, speakers) == "Speakers (Realtek(R) Audio) [Loopback]"
    assert wasapi_loopback_name(devices, hostapis, None) == "Headphones (USB Audio) [Loopback]"
    mme_default = {"name": "Speakers (Realtek(R) Audio"}  # a name cut short, as MME cuts them at 31 characters
    assert wasapi_loopback_name(devices, hostapis, mme_default) == "Speakers (Realtek(R) Audio) [Loopback]"
    assert wasapi_loopback_name(devices[:4], hostapis, speakers) is None  # PortAudio 19.7.0: none listed
