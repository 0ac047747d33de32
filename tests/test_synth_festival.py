"""The Festival adapter: each voice speaks, speed works, odd text is safe, one process serves all."""

import shutil
import subprocess

import numpy as np
import pytest

from training.synth import engines
from training.synth.engines import Festival, SynthesisError

pytestmark = pytest.mark.skipif(shutil.which("festival") is None, reason="festival is not installed")

SENTENCE = "The quick brown fox jumps over the lazy dog."


@pytest.fixture(scope="module")
def festival():
    return Festival()


def test_available_and_voices(festival):
    assert festival.available()
    voices = festival.voices()
    assert voices and set(voices) <= {"kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts"}
    assert engines.ENGINES["festival"] is not None


@pytest.mark.parametrize("voice", ["kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts"])
def test_each_voice_speaks(festival, voice):
    if voice not in festival.voices():
        pytest.skip(f"{voice} is not installed")
    samples, rate = festival.speak(SENTENCE, voice, 1.0, 1.0)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert 8000 <= rate <= 48000
    assert 1.0 < len(samples) / rate < 8.0
    assert np.abs(samples).max() > 0.01


@pytest.mark.parametrize("voice", ["kal_diphone", "cmu_us_slt_arctic_hts"])
def test_faster_speech_is_shorter(festival, voice):
    if voice not in festival.voices():
        pytest.skip(f"{voice} is not installed")
    fast, _ = festival.speak(SENTENCE, voice, 1.3, 1.0)
    slow, _ = festival.speak(SENTENCE, voice, 0.8, 1.0)
    assert len(fast) < 0.8 * len(slow)


def test_quotes_and_backslashes(festival):
    voice = festival.voices()[0]
    for text in ['He said "stop" and left.', 'A back\\slash, a "quote\\" and \\\\ two.', 'Odd ") (voice_x) "',
                 "Line one\nline two\ttab."]:
        samples, rate = festival.speak(text, voice, 1.0, 1.0)
        assert len(samples) / rate > 0.5
    samples, _ = festival.speak(SENTENCE, voice, 1.0, 1.0)
    assert len(samples)


def test_many_sentences_one_process(festival, monkeypatch):
    voices = festival.voices()
    festival.speak(SENTENCE, voices[0], 1.0, 1.0)
    first = engines._festival_process().process.pid
    started = []
    real_popen = subprocess.Popen
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: started.append(a) or real_popen(*a, **k))
    for index in range(30):
        samples, _ = festival.speak(f"Sentence number {index} of many.", voices[index % len(voices)], 1.0, 1.0)
        assert len(samples)
    assert not started
    assert engines._festival_process().process.pid == first


def test_failure_leaves_adapter_usable(festival, monkeypatch):
    voice = festival.voices()[0]
    with pytest.raises(SynthesisError):
        festival.speak(SENTENCE, "no_such_voice", 1.0, 1.0)
    engines._festival_process().process.kill()  # festival dies between sentences
    engines._festival_process().process.wait()
    samples, _ = festival.speak(SENTENCE, voice, 1.0, 1.0)  # restarted
    assert len(samples)
    monkeypatch.setattr(engines, "_FESTIVAL_TIMEOUT", 0.0)
    with pytest.raises(SynthesisError, match="no answer"):
        festival.speak(SENTENCE, voice, 1.0, 1.0)
    monkeypatch.undo()
    samples, _ = festival.speak(SENTENCE, voice, 1.0, 1.0)
    assert len(samples)
