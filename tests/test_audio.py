"""engine.audio: any audio file, read as 16 kHz mono float32, whole or a window at a time."""

import tracemalloc

import numpy as np
import pytest
import soundfile
import torch
import torchaudio

from engine.audio import SAMPLE_RATE, AudioFile, load_audio
from engine.errors import AudioError

RATES = (8000, 11025, 16000, 22050, 44100, 48000)
FORMATS = ("WAV", "FLAC", "OGG", "MP3")

# Window reads decode and resample a span of their own, yet equal the whole
# file resampled at once to float32 rounding: measured at most 1.5e-7 over
# these formats and rates (random windows, in random order, edges included).
WINDOW_TOLERANCE = 1e-6


def tone(rate: int, seconds: float, frequency: float) -> np.ndarray:
    """A sine of amplitude 0.5, shape (frames,)."""
    return (0.5 * np.sin(2 * np.pi * frequency * np.arange(round(rate * seconds)) / rate)).astype(np.float32)


def speechlike(rate: int, seconds: float, channels: int = 2) -> np.ndarray:
    """A gliding tone switched on and off, plus noise: nothing repeats, so any misplaced sample shows."""
    t = np.arange(round(rate * seconds)) / rate
    glide = np.sin(2 * np.pi * (150 * t + 40 * t**2)) * (np.sin(2 * np.pi * 3 * t) > 0)
    noise = np.random.default_rng(0).standard_normal((len(t), channels))
    return (0.3 * glide[:, None] + 0.05 * noise).astype(np.float32)


def peak_frequency(samples: np.ndarray) -> float:
    """The strongest frequency in 16 kHz ``samples``, in Hz."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum)) * SAMPLE_RATE / len(samples)


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_is_read_at_16k_with_its_length_and_pitch(tmp_path, fmt):
    path = tmp_path / f"tone.{fmt.lower()}"
    soundfile.write(path, tone(44100, 1.0, 440.0), 44100, format=fmt)

    samples = load_audio(path)

    assert samples.dtype == np.float32 and samples.shape == (SAMPLE_RATE,)
    assert peak_frequency(samples) == pytest.approx(440.0, abs=1.0)
    assert np.sqrt(np.mean(samples**2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.05)


@pytest.mark.parametrize("rate", RATES)
def test_each_rate_is_resampled_to_16k_keeping_length_and_pitch(tmp_path, rate):
    path = tmp_path / "tone.wav"
    soundfile.write(path, tone(rate, 2.0, 1000.0), rate, subtype="FLOAT")

    with AudioFile(path) as audio:
        assert (audio.source_rate, audio.channels) == (rate, 1)
        assert audio.duration == 2.0
        assert audio.num_samples == 32000
        samples = audio.read(0, audio.num_samples)

    assert samples.shape == (32000,)
    assert peak_frequency(samples) == pytest.approx(1000.0, abs=1.0)


@pytest.mark.parametrize("rate", (8000, 22050, 44100, 48000))
def test_a_whole_file_equals_torchaudio_resampling_of_its_samples(tmp_path, rate):
    path = tmp_path / "speech.wav"
    source = speechlike(rate, 1.0, channels=1)[:, 0]
    soundfile.write(path, source, rate, subtype="FLOAT")

    expected = torchaudio.functional.resample(torch.from_numpy(source), rate, SAMPLE_RATE).numpy()

    # The function builds its kernel in float32, the engine's cached one in
    # float64: they differ by up to 2e-6.
    np.testing.assert_allclose(load_audio(path), expected, rtol=0, atol=1e-5)


def test_stereo_is_the_mean_of_its_channels(tmp_path):
    left = tone(SAMPLE_RATE, 0.5, 300.0)
    path = tmp_path / "stereo.wav"
    soundfile.write(path, np.stack([left, np.zeros_like(left)], axis=1), SAMPLE_RATE, subtype="FLOAT")

    with AudioFile(path) as audio:
        assert audio.channels == 2
        np.testing.assert_allclose(audio.read(0, audio.num_samples), left / 2, rtol=0, atol=1e-7)


def test_any_channel_count_is_averaged(tmp_path):
    levels = np.array([0.0, 0.1, 0.2, 0.3, 0.4, 0.5], dtype=np.float32)
    path = tmp_path / "surround.flac"
    soundfile.write(path, np.tile(levels, (48000, 1)), 48000)

    samples = load_audio(path)

    assert samples.shape == (16000,)
    # Away from the ends, where resampling sees the silence beyond the file.
    np.testing.assert_allclose(samples[100:-100], levels.mean(), atol=1e-3)


@pytest.mark.parametrize(
    ("fmt", "rate"),
    [("WAV", rate) for rate in RATES] + [("FLAC", 44100), ("OGG", 44100), ("OGG", 16000), ("MP3", 48000), ("MP3", 22050)],
)
def test_window_reads_equal_the_whole_file_resampled_at_once(tmp_path, fmt, rate):
    path = tmp_path / f"speech.{fmt.lower()}"
    soundfile.write(path, speechlike(rate, 3.0), rate, format=fmt)
    whole = load_audio(path)
    rng = np.random.default_rng(1)
    starts = [0, len(whole) - 700, *rng.integers(0, len(whole), 30)]

    with AudioFile(path) as audio:
        for start in starts:  # in no particular order: backwards too
            stop = int(start) + int(rng.integers(1, 8000))
            np.testing.assert_allclose(audio.read(start, stop), whole[start:stop], rtol=0, atol=WINDOW_TOLERANCE)


def test_window_reads_are_clipped_to_the_file(tmp_path):
    path = tmp_path / "tone.wav"
    soundfile.write(path, tone(22050, 1.0, 440.0), 22050)

    with AudioFile(path) as audio:
        np.testing.assert_array_equal(audio.read(-100, 50), audio.read(0, 50))
        assert audio.read(15990, 16100).shape == (10,)
        assert audio.read(16000, 16100).shape == (0,)
        assert audio.read(500, 400).shape == (0,)


@pytest.mark.parametrize("fmt", ["WAV", "OGG"])
def test_reading_a_window_of_a_long_file_holds_only_about_that_window(tmp_path, fmt):
    path = tmp_path / f"long.{fmt.lower()}"
    minute = speechlike(8000, 60.0, channels=1)
    with soundfile.SoundFile(path, "w", 8000, 1, format=fmt) as out:
        for _ in range(5):
            out.write(minute)
    whole_bytes = 5 * 60 * SAMPLE_RATE * 4

    with AudioFile(path) as audio:
        tracemalloc.start()
        window = audio.read(280 * SAMPLE_RATE, 281 * SAMPLE_RATE)
        _, peak_bytes = tracemalloc.get_traced_memory()
        tracemalloc.stop()

    assert window.shape == (SAMPLE_RATE,)
    assert peak_bytes < whole_bytes / 10


def write_nothing(path):
    path.touch()


def write_no_frames(path):
    soundfile.write(path, np.zeros((0, 1), dtype=np.float32), 16000)


def write_text(path):
    path.write_text("This is a shopping list, not a recording.\n")


def write_unsupported_rate(path):
    soundfile.write(path, np.zeros(1000, dtype=np.float32), 44101)


@pytest.mark.parametrize(
    ("make", "complaint"),
    [
        (None, "no such file"),
        (write_nothing, "the file is empty"),
        (write_no_frames, "contains no audio"),
        (write_text, "not a readable audio file (Format not recognised.)"),
        (write_unsupported_rate, "a sample rate of 44101 Hz is not supported"),
    ],
)
def test_a_bad_file_is_an_audio_error_naming_it(tmp_path, make, complaint):
    path = tmp_path / "recording.wav"
    if make:
        make(path)

    with pytest.raises(AudioError) as error:
        AudioFile(path)

    assert str(error.value) == f"{path}: {complaint}"


def test_a_folder_is_an_audio_error_naming_it(tmp_path):
    folder = tmp_path / "recordings.wav"
    folder.mkdir()

    with pytest.raises(AudioError, match="is a folder") as error:
        load_audio(folder)

    assert str(error.value).startswith(f"{folder}: ")


def test_a_corrupt_stream_is_an_audio_error_naming_the_file(tmp_path):
    path = tmp_path / "cut.flac"
    soundfile.write(path, speechlike(44100, 2.0), 44100)
    with open(path, "r+b") as file:
        file.truncate(path.stat().st_size // 2)

    with pytest.raises(AudioError) as error:
        load_audio(path)

    assert str(error.value).startswith(f"{path}: cannot be decoded (")
    assert "\n" not in str(error.value)
