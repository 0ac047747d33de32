"""The SVOX Pico and RHVoice adapters (Debian non-free): every voice speaks, speed and pitch work,
text is never taken as markup, non-commercial voices are never used, and a corpus can be made."""

import shutil

import numpy as np
import pytest

from test_synth import rows, synth
from training.synth.engines import _RHVOICE_DATA, ENGINES, Pico, RHVoice

SENTENCE = "The quick brown fox jumps over the lazy dog."
pico_installed = pytest.mark.skipif(shutil.which("pico2wave") is None, reason="libttspico-utils is not installed")
rhvoice_installed = pytest.mark.skipif(shutil.which("RHVoice-test") is None, reason="rhvoice is not installed")
ALL_VOICES = ([pytest.param(Pico(), voice, marks=pico_installed, id=f"pico-{voice}") for voice in ("en-US", "en-GB")]
              + [pytest.param(RHVoice(), voice, marks=rhvoice_installed, id=f"rhvoice-{voice}")
                 for voice in ("alan", "bdl", "clb", "slt")])


def median_f0(samples: np.ndarray, rate: int) -> float:
    """Median fundamental frequency (Hz) of the loud, periodic 40 ms frames, by autocorrelation."""
    size, found = int(0.04 * rate), []
    loud = 0.3 * np.abs(samples).max()
    shortest, longest = rate // 400, rate // 60
    for start in range(0, len(samples) - size, size):
        frame = samples[start:start + size] - samples[start:start + size].mean()
        if np.abs(frame).max() < loud:
            continue
        correlation = np.correlate(frame, frame, "full")[size - 1:]
        lag = shortest + int(np.argmax(correlation[shortest:longest]))
        if correlation[lag] > 0.5 * correlation[0]:
            found.append(rate / lag)
    return float(np.median(found))


@pytest.mark.parametrize(("engine", "voice"), ALL_VOICES)
def test_each_voice_speaks(engine, voice):
    assert engine.available() and voice in engine.voices()
    assert ENGINES[engine.name] == engine
    samples, rate = engine.speak(SENTENCE, voice, 1.0, 1.0)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert rate in (16000, 24000)
    assert 1.5 < len(samples) / rate < 6.0
    assert np.abs(samples).max() > 0.05


@pytest.mark.parametrize(("engine", "voice"), ALL_VOICES)
def test_speed_and_pitch_follow_their_factors(engine, voice):
    fast, rate = engine.speak(SENTENCE, voice, 1.3, 1.0)
    slow, _ = engine.speak(SENTENCE, voice, 0.8, 1.0)
    assert len(fast) < 0.8 * len(slow)
    low = median_f0(*engine.speak(SENTENCE, voice, 1.0, 0.8))
    high = median_f0(*engine.speak(SENTENCE, voice, 1.0, 1.25))
    assert 1.3 < high / low < 1.9, (low, high)  # 1.25 / 0.8 = 1.56


@pico_installed
def test_pico_reads_markup_characters_instead_of_obeying_them():
    plain, _ = Pico().speak("one three", "en-US", 1.0, 1.0)
    with_marks, _ = Pico().speak("one <two> three & four", "en-US", 1.0, 1.0)
    assert len(with_marks) > 1.5 * len(plain)
    sped, _ = Pico().speak("<speed level='300'>one three</speed>", "en-US", 1.0, 1.0)
    assert len(sped) > len(plain)  # spoken as text, not a faster "one three"


@rhvoice_installed
def test_rhvoice_never_offers_a_non_commercial_voice():
    assert set(RHVoice().voices()) <= {"alan", "bdl", "clb", "slt"}
    for non_commercial in ("evgeniy-eng", "lyubov"):
        if (_RHVOICE_DATA / non_commercial).is_dir():
            assert non_commercial not in RHVoice().voices()


@pico_installed
@rhvoice_installed
def test_a_corpus_from_pico_and_rhvoice(vivavoce, tmp_path):
    result = synth(vivavoce, tmp_path / "corpus", "0.004", "--engines", "pico,rhvoice")
    assert result.returncode == 0, result.stderr
    made = rows(tmp_path / "corpus")
    assert {row["engine"] for row in made} == {"pico", "rhvoice"}
    assert {row["voice"] for row in made} <= {"en-US", "en-GB", "alan", "bdl", "clb", "slt"}
