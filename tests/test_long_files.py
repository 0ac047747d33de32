"""Long files: overlapping windows stitch exactly, and memory does not grow with the length."""

import subprocess
import sys

import numpy as np
import pytest
import soundfile
import torch

from engine.audio import AudioFile
from engine.model import Wav2Vec2
from engine.modelfolder import LoadedModel, ModelConfig, save_model_folder
from engine.presets import preset
from engine.recognizer import Recognizer
from engine.text import TextRules, Vocabulary

VOCAB = Vocabulary(("<pad>", "|", "a", "b", "c", "d"), blank=0)


def random_model(num_layers: int, feature_norm: str = "group") -> LoadedModel:
    torch.manual_seed(0)
    arch = preset("test", num_layers=num_layers, feature_norm=feature_norm, quantizer=False,
                  vocab_size=len(VOCAB))
    config = ModelConfig("ctc", arch, VOCAB, TextRules("keep"), normalize_input=False, name="random")
    model = Wav2Vec2(arch)
    with torch.no_grad():
        model.ctc_head.weight.normal_(0, 3.0)  # a lively head: many words, so misplaced frames show
    return LoadedModel(config, model)


def write_noise(path, seconds: float, rate: int = 16000, block_seconds: int = 60):
    """Speech-band noise bursts, written a block at a time so the test itself stays small."""
    rng = np.random.default_rng(0)
    with soundfile.SoundFile(path, "w", rate, 1, "PCM_16") as f:
        left = int(seconds * rate)
        while left:
            n = min(left, block_seconds * rate)
            envelope = (np.sin(np.arange(n) / rate * 2 * np.pi * 1.3) > 0).astype(np.float32)
            f.write(0.3 * envelope * rng.standard_normal(n).astype(np.float32))
            left -= n


def test_windowed_recognition_equals_one_pass_when_context_covers_the_receptive_field(tmp_path):
    # Without Transformer blocks, and with layer norm (group norm normalises over the
    # whole window), a frame sees only the positional convolution's +-8 frames, so
    # windows with 0.5 s of context must reproduce one pass exactly: this checks that
    # windows line up with the frame grid and stitch without gaps or overlaps.
    path = tmp_path / "noise.wav"
    write_noise(path, 21.37, rate=44100)
    recognizer = Recognizer(random_model(num_layers=0, feature_norm="layer"), torch.device("cpu"))

    with AudioFile(path) as audio:
        whole = recognizer.transcribe(audio, window_seconds=60.0)
        windowed = recognizer.transcribe(audio, window_seconds=3.0, context_seconds=0.5)

    assert len(whole.words) > 20
    assert [(w.text, w.start, w.end) for w in windowed.words] == [(w.text, w.start, w.end) for w in whole.words]
    assert [w.confidence for w in windowed.words] == pytest.approx([w.confidence for w in whole.words], abs=1e-4)


def test_progress_is_reported_up_to_the_whole_duration(tmp_path):
    path = tmp_path / "noise.wav"
    write_noise(path, 70.0)
    recognizer = Recognizer(random_model(num_layers=1), torch.device("cpu"))
    reports = []

    with AudioFile(path) as audio:
        recognizer.transcribe(audio, progress=lambda done, total: reports.append((done, total)))

    assert len(reports) == 3  # 24 s of new audio per 30 s window
    assert [done for done, _ in reports] == sorted(done for done, _ in reports)
    assert reports[-1] == (pytest.approx(70.0), pytest.approx(70.0))


PEAK_RSS = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_rss_kib(*command) -> int:
    out = subprocess.run([sys.executable, "-c", PEAK_RSS, *map(str, command)], capture_output=True,
                         text=True, check=True)
    return int(out.stdout)


def test_an_hour_needs_no_more_memory_than_a_minute(tmp_path, vivavoce):
    from conftest import VIVAVOCE

    loaded = random_model(num_layers=2)
    folder = save_model_folder(loaded.model, loaded.config, tmp_path / "model", card="# random\n")
    minute, hour = tmp_path / "minute.wav", tmp_path / "hour.wav"
    write_noise(minute, 60)
    write_noise(hour, 3600)

    small = peak_rss_kib(VIVAVOCE, "transcribe", minute, "--model", folder)
    large = peak_rss_kib(VIVAVOCE, "transcribe", hour, "--model", folder)

    # Reading the hour whole would add 230 MB of float32 samples to a ~400 MB process.
    assert large <= 1.2 * small, (small, large)
