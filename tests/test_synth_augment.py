"""Augmentation of synthetic speech: each effect does what it says, measured; recipes are reproducible."""

import dataclasses
import json

import numpy as np
import pytest
from conftest import speak

from engine.audio import load_audio
from training.synth import augment
from training.synth.augment import (SAMPLE_RATE, Augmentation, add_noise, apply, babble, codec,
                                    draw, gain, perturb_speed, pink_noise, reshape_voice,
                                    reverberate, room_impulse_response, telephone, vary_speed,
                                    white_noise)


@pytest.fixture(scope="module")
def sentences(tmp_path_factory) -> list[np.ndarray]:
    """Three espeak-ng sentences at 16 kHz, two to three seconds each."""
    folder = tmp_path_factory.mktemp("augment")
    texts = ["The quick brown fox jumps over the lazy dog.",
             "She sells sea shells by the sea shore.",
             "A rainbow appears when sunlight meets the rain."]
    return [load_audio(speak(text, folder / f"{i}.wav")) for i, text in enumerate(texts)]


@pytest.fixture
def speech(sentences) -> np.ndarray:
    return sentences[0]


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def band_density_db(x: np.ndarray, low: float, high: float, reference=(500.0, 3000.0)) -> float:
    """Mean power density of ``x`` in [low, high) Hz relative to that in the reference band, dB."""
    power = np.abs(np.fft.rfft(x)) ** 2
    frequency = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)

    def density(lo, hi):
        return power[(frequency >= lo) & (frequency < hi)].mean()

    return float(10 * np.log10(density(low, high) / density(*reference)))


def tone(frequency: float, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


# Noise


def test_white_and_pink_noise_have_unit_rms_and_the_requested_length():
    rng = np.random.default_rng(0)
    for noise in (white_noise(12345, rng), pink_noise(12345, rng)):
        assert noise.dtype == np.float32 and noise.shape == (12345,)
        assert rms(noise) == pytest.approx(1.0, rel=1e-4)


def test_pink_noise_falls_3_db_per_octave():
    noise = pink_noise(2**18, np.random.default_rng(1))
    power = np.abs(np.fft.rfft(noise)) ** 2
    frequency = np.fft.rfftfreq(len(noise), 1 / SAMPLE_RATE)
    band = (frequency >= 50) & (frequency <= 7000)
    slope = np.polyfit(np.log2(frequency[band]), 10 * np.log10(power[band]), 1)[0]
    # 1/f power is -3.01 dB per octave; a least-squares fit over ~110k periodogram bins is
    # within a few hundredths of it, so 0.2 dB/octave is a generous bound.
    assert slope == pytest.approx(-3.01, abs=0.2)


def test_babble_of_one_talker_is_a_scaled_segment_of_that_utterance(sentences):
    utterance = sentences[1]
    mix = babble([utterance], 8000, np.random.default_rng(2), talkers=(1, 1))
    # Find the segment by correlation, then check it sample by sample.
    start = int(np.argmax(np.correlate(np.resize(utterance, len(utterance) + 8000), mix, "valid")))
    segment = np.resize(np.roll(utterance, -start), 8000)
    scale = rms(mix) / rms(segment)
    np.testing.assert_allclose(mix, scale * segment, atol=1e-5)


def test_babble_of_several_talkers_has_unit_rms(sentences):
    mix = babble(sentences, 40000, np.random.default_rng(3))
    assert mix.shape == (40000,) and rms(mix) == pytest.approx(1.0, rel=1e-4)


def test_babble_needs_other_utterances():
    with pytest.raises(ValueError, match="other utterance"):
        babble([], 1000, np.random.default_rng(0))


@pytest.mark.parametrize("snr_db", [0.0, 5.0, 20.0])
def test_add_noise_reaches_the_snr_measured_on_active_speech(snr_db):
    # One second of a 400 Hz tone (power 0.125) then one second of silence: the silence must not
    # count, or the SNR would come out 3 dB low.
    speech = np.concatenate([tone(400, 1.0, amplitude=0.5), np.zeros(SAMPLE_RATE, np.float32)])
    noisy = add_noise(speech, pink_noise(len(speech), np.random.default_rng(4)), snr_db)
    added = noisy.astype(np.float64) - speech
    measured = 10 * np.log10(0.125 / np.mean(added**2))
    assert measured == pytest.approx(snr_db, abs=0.1)


# Reverberation


def schroeder_rt60(rir: np.ndarray, start: float = 0.05) -> float:
    """RT60 (s) of the reverberant tail: Schroeder's energy decay curve from ``start`` seconds on,
    its -5 to -25 dB stretch fitted by a line and extrapolated to 60 dB (T20)."""
    energy = np.cumsum(rir[::-1].astype(np.float64) ** 2)[::-1]
    first = round(start * SAMPLE_RATE)
    decay_db = 10 * np.log10(energy / energy[first])
    t = np.arange(len(rir)) / SAMPLE_RATE
    fit = (t >= start) & (decay_db <= -5) & (decay_db >= -25)
    return -60 / np.polyfit(t[fit], decay_db[fit], 1)[0]


@pytest.mark.parametrize("rt60", [0.25, 0.5, 0.8])
def test_room_impulse_response_decays_with_the_requested_rt60(rt60):
    for seed in range(3):
        rir = room_impulse_response(np.random.default_rng(seed), rt60=rt60)
        assert schroeder_rt60(rir) == pytest.approx(rt60, rel=0.15)


def test_room_impulse_response_draws_its_rt60_from_the_range():
    estimates = [schroeder_rt60(room_impulse_response(np.random.default_rng(seed), rt60=(0.3, 0.6)))
                 for seed in range(10)]
    assert 0.3 * 0.85 <= min(estimates) and max(estimates) <= 0.6 * 1.15
    assert max(estimates) - min(estimates) > 0.1


def test_room_impulse_response_starts_with_its_direct_path_and_has_unit_energy():
    rir = room_impulse_response(np.random.default_rng(5), rt60=0.4, seconds=0.5)
    assert rir.dtype == np.float32 and rir.shape == (8000,)
    assert np.argmax(np.abs(rir)) == 0
    assert np.sum(rir.astype(np.float64) ** 2) == pytest.approx(1.0, rel=1e-5)


def test_reverberation_keeps_length_and_level_and_smears_the_signal(speech):
    wet = reverberate(speech, room_impulse_response(np.random.default_rng(6), rt60=0.6))
    assert wet.shape == speech.shape and wet.dtype == np.float32
    assert rms(wet) == pytest.approx(rms(speech), rel=1e-4)
    assert np.corrcoef(wet, speech)[0, 1] < 0.95


def test_reverberation_is_aligned_on_the_direct_path(speech):
    delayed_impulse = np.zeros(400, np.float32)
    delayed_impulse[137] = 1.0
    np.testing.assert_allclose(reverberate(speech, delayed_impulse), speech, atol=1e-5)


# Channel


def test_telephone_keeps_only_300_to_3400_hz():
    noise = white_noise(2 * SAMPLE_RATE, np.random.default_rng(7))
    line = telephone(noise)
    assert line.shape == noise.shape
    # Power density relative to 500-3000 Hz; measured -25 (below 200 Hz), -14 (below 300 Hz),
    # -32 (above 3.4 kHz), -57 dB (above 4 kHz, the 8 kHz channel's limit).
    assert band_density_db(line, 0, 200) < -20
    assert band_density_db(line, 0, 300) < -10
    assert band_density_db(line, 3400, 8000) < -25
    assert band_density_db(line, 4000, 8000) < -50
    assert abs(band_density_db(line, 500, 3000, reference=(500, 1000))) < 1


@pytest.mark.parametrize("chosen", augment.CODECS, ids=lambda c: c[1])
def test_codec_round_trip_keeps_length_and_likeness_but_loses_detail(speech, chosen, monkeypatch):
    container, subtype, _, worst = chosen
    monkeypatch.setattr(augment, "CODECS", ((container, subtype, worst, worst),))
    decoded = codec(speech, np.random.default_rng(8))
    assert decoded.shape == speech.shape and decoded.dtype == np.float32
    assert np.max(np.abs(decoded - speech)) > 0.01
    # Measured on this sentence at the lowest qualities: correlation 0.95 (MP3), 0.98 (Vorbis),
    # 0.98 (Opus); a shift of even one sample would drop it far lower.
    assert np.corrcoef(decoded, speech)[0, 1] > 0.9


def test_gain_scales_by_decibels(speech):
    quiet = speech * (0.1 / np.max(np.abs(speech)))
    np.testing.assert_allclose(gain(quiet, 6.0), quiet * 10 ** (6 / 20), rtol=1e-6)
    np.testing.assert_allclose(gain(quiet, -6.0), quiet * 10 ** (-6 / 20), rtol=1e-6)


def test_gain_scales_down_rather_than_clips_past_0_99(speech):
    loud = gain(speech, 40.0)
    assert np.max(np.abs(loud)) == pytest.approx(0.99, abs=1e-6)
    np.testing.assert_allclose(loud, speech * (0.99 / np.max(np.abs(speech))), atol=1e-6)


# Speed


@pytest.mark.parametrize("factor", [0.9, 0.97, 1.07, 1.1])
def test_perturb_speed_changes_length_by_the_factor(speech, factor):
    assert len(perturb_speed(speech, factor)) == pytest.approx(len(speech) / factor, abs=1)


def test_perturb_speed_raises_pitch_by_the_factor():
    faster = perturb_speed(tone(400, 2.0), 1.1)
    spectrum = np.abs(np.fft.rfft(faster))
    peak = np.fft.rfftfreq(len(faster), 1 / SAMPLE_RATE)[np.argmax(spectrum)]
    assert peak == pytest.approx(440, abs=1)


def dominant_frequency(x: np.ndarray) -> np.ndarray:
    """The strongest frequency (Hz) in each 64 ms frame of ``x``, to the nearest 15.6 Hz."""
    frames = x[: len(x) // 1024 * 1024].reshape(-1, 1024) * np.hanning(1024)
    return np.argmax(np.abs(np.fft.rfft(frames, axis=1)), axis=1) * SAMPLE_RATE / 1024


def test_vary_speed_keeps_the_length_and_moves_pitch_within_the_depth():
    original = tone(1000, 3.0)
    for depth, seed in ((0.05, 1), (0.1, 2)):
        varied = vary_speed(original, depth, np.random.default_rng(seed))
        assert len(varied) == len(original) and varied.dtype == np.float32
        pitch = dominant_frequency(varied)
        # Within the depth (and one 15.6 Hz bin), and not constant: the pace drifts.
        assert np.all(np.abs(pitch - 1000) <= 1000 * depth * 1.25 + 16)
        assert pitch.max() - pitch.min() >= 1000 * depth * 0.5
        assert rms(varied) == pytest.approx(rms(original), rel=0.05)  # nothing lost to interpolation


def test_vary_speed_is_deterministic_by_seed_and_leaves_a_steady_pace_alone(speech):
    np.testing.assert_array_equal(vary_speed(speech, 0.0, np.random.default_rng(0)), speech)
    once, again = (vary_speed(speech, 0.08, np.random.default_rng(4)) for _ in range(2))
    np.testing.assert_array_equal(once, again)
    assert not np.array_equal(once, vary_speed(speech, 0.08, np.random.default_rng(5)))


def vowel(formants: tuple[float, ...], f0: float = 100.0, seconds: float = 1.0) -> np.ndarray:
    """A steady vowel: a glottal pulse train at ``f0`` Hz through a resonance at each formant (Hz)."""
    n = int(seconds * SAMPLE_RATE)
    frequency = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    response = np.ones_like(frequency, dtype=complex)
    for formant in formants:  # a second-order resonance 80 Hz wide
        s = 2j * np.pi * frequency
        pole = -np.pi * 80 + 2j * np.pi * formant
        response *= (pole * np.conj(pole)) / ((s - pole) * (s - np.conj(pole)))
    pulses = np.zeros(n)
    pulses[:: int(SAMPLE_RATE / f0)] = 1.0
    x = np.fft.irfft(np.fft.rfft(pulses) * response, n)
    return (0.5 * x / np.max(np.abs(x))).astype(np.float32)


def power_at(x: np.ndarray):
    """The power of the middle half of ``x`` at a frequency (Hz): a function, from one windowed FFT."""
    middle = x[len(x) // 4: 3 * len(x) // 4]
    power = np.abs(np.fft.rfft(middle * np.hanning(len(middle)))) ** 2
    frequency = np.fft.rfftfreq(len(middle), 1 / SAMPLE_RATE)
    return lambda hz: power[np.argmin(np.abs(frequency - hz))]


def strongest_harmonic(x: np.ndarray, low: float, high: float, f0: float = 100.0) -> float:
    """The harmonic of ``f0`` (Hz) in [low, high] with the most energy, over the middle of ``x``."""
    harmonics = np.arange(np.ceil(low / f0), np.floor(high / f0) + 1) * f0
    return float(max(harmonics, key=power_at(x)))


def harmonicity_db(x: np.ndarray, f0: float = 100.0) -> float:
    """Energy at the harmonics of ``f0`` over energy halfway between them, 0-4 kHz, dB."""
    power = power_at(x)
    at = sum(power(k * f0) for k in range(1, 40))
    between = sum(power((k + 0.5) * f0) for k in range(1, 40))
    return 10 * np.log10(at / between)


def test_reshape_voice_moves_the_formants_and_keeps_the_pitch():
    original = vowel((700.0, 1800.0))
    assert strongest_harmonic(original, 400, 1100) == 700
    higher, lower = reshape_voice(original, 1.15, 0.0), reshape_voice(original, 0.87, 0.0)
    assert strongest_harmonic(higher, 400, 1100) == 800  # 700 x 1.15 = 805
    assert strongest_harmonic(lower, 400, 1100) == 600  # 700 x 0.87 = 609
    assert strongest_harmonic(higher, 1400, 2600) == 2100  # 1800 x 1.15 = 2070
    for reshaped in (higher, lower):
        assert len(reshaped) == len(original) and reshaped.dtype == np.float32
        assert harmonicity_db(reshaped) > 20  # still pulses at 100 Hz, not smeared


def test_reshape_voice_tilts_the_spectrum_by_the_decibels_per_octave():
    noise = white_noise(4 * SAMPLE_RATE, np.random.default_rng(3))
    for tilt in (-3.0, 3.0):
        tilted = reshape_voice(noise, 1.0, tilt)
        # From the 250-500 Hz band to 4-8 kHz is log2(5657 / 354) = 4 octaves, centre to centre.
        change = (band_density_db(tilted, 4000, 8000, (250, 500))
                  - band_density_db(noise, 4000, 8000, (250, 500)))
        assert change == pytest.approx(4 * tilt, abs=1.5)


def test_reshape_voice_skew_moves_the_higher_formants_further():
    original = vowel((700.0, 1800.0))
    # The envelope is read at f / (f / 1 kHz) ** skew, so a formant at F lands at
    # 1 kHz x (F / 1 kHz) ** (1 / (1 - skew)): with skew 0.3, 700 -> 601 Hz and 1800 -> 2316 Hz.
    skewed = reshape_voice(original, 1.0, 0.0, skew=0.3)
    assert strongest_harmonic(skewed, 400, 1100) == 600
    assert strongest_harmonic(skewed, 1400, 2800) == 2300
    unskewed = reshape_voice(original, 1.0, 0.0, skew=-0.3)  # 700 -> 760 Hz, 1800 -> 1572 Hz
    assert strongest_harmonic(unskewed, 400, 1100) == 800
    assert strongest_harmonic(unskewed, 1200, 2600) == 1600


@pytest.mark.parametrize("breath_db", [-20.0, -8.0])
def test_reshape_voice_adds_breath_noise_at_the_requested_level(breath_db):
    original = vowel((700.0, 1800.0, 2600.0), seconds=2.0)
    plain = reshape_voice(original, 1.1, 1.0)
    breathy = reshape_voice(original, 1.1, 1.0, breath_db=breath_db, rng=np.random.default_rng(6))
    assert len(breathy) == len(original) and breathy.dtype == np.float32
    # The noise is what breath added; its level below the voice is the one asked for.
    added_db = 10 * np.log10(np.sum(np.square(breathy - plain, dtype=np.float64))
                             / np.sum(np.square(plain, dtype=np.float64)))
    assert added_db == pytest.approx(breath_db, abs=1.5)
    assert harmonicity_db(breathy) < harmonicity_db(plain) - 5  # noise between the harmonics
    # Shaped by the vowel's envelope: more of it around F1 than in the valley above F3.
    noise = breathy - plain
    assert band_density_db(noise, 500, 900, (3500, 5000)) > 10


def test_reshape_voice_needs_a_generator_for_breath_noise(speech):
    with pytest.raises(ValueError, match="random generator"):
        reshape_voice(speech, 1.0, 0.0, breath_db=-12.0)


def test_reshape_voice_leaves_a_neutral_voice_alone(speech):
    np.testing.assert_array_equal(reshape_voice(speech, 1.0, 0.0), speech)


# Recipes


def test_draw_is_deterministic_by_seed():
    def recipes(seed):
        rng = np.random.default_rng(seed)
        return [draw(rng) for _ in range(50)]

    assert recipes(9) == recipes(9)
    assert recipes(9) != recipes(10)


def test_draw_effect_rates_match_the_documented_probabilities():
    rng = np.random.default_rng(11)
    recipes = [draw(rng, clean_fraction=0.3) for _ in range(2000)]

    def rate(predicate, among=recipes):
        return np.mean([predicate(r) for r in among])

    # 70% are not clean; of those, noise 60%, reverb 30%, telephone and codec 10% each.
    # Tolerances are about 3.5 binomial standard deviations.
    assert rate(lambda r: r.noise is not None) == pytest.approx(0.42, abs=0.04)
    assert rate(lambda r: r.reverb_rt60 is not None) == pytest.approx(0.21, abs=0.035)
    assert rate(lambda r: r.telephone) == pytest.approx(0.07, abs=0.02)
    assert rate(lambda r: r.codec) == pytest.approx(0.07, abs=0.02)
    untouched = 0.3 + 0.7 * 0.4 * 0.7 * 0.9 * 0.9
    assert rate(lambda r: r == dataclasses.replace(r, noise=None, snr_db=None, reverb_rt60=None,
                                                   telephone=False, codec=False)) \
        == pytest.approx(untouched, abs=0.04)
    noisy = [r for r in recipes if r.noise]
    assert rate(lambda r: r.noise == "pink", noisy) == pytest.approx(0.4, abs=0.06)
    assert rate(lambda r: r.noise == "babble", noisy) == pytest.approx(0.4, abs=0.06)
    assert rate(lambda r: r.noise == "white", noisy) == pytest.approx(0.2, abs=0.05)


def test_draw_values_stay_in_the_documented_ranges():
    rng = np.random.default_rng(12)
    recipes = [draw(rng) for _ in range(2000)]
    assert all(0.9 <= r.speed <= 1.1 and -6 <= r.gain_db <= 6 for r in recipes)
    assert all(5 <= r.snr_db <= 30 for r in recipes if r.noise)
    assert all(0.2 <= r.reverb_rt60 <= 0.8 for r in recipes if r.reverb_rt60 is not None)


def test_clean_recipes_change_only_speed_and_gain_a_little():
    rng = np.random.default_rng(13)
    for recipe in (draw(rng, clean_fraction=1.0) for _ in range(200)):
        assert 0.95 <= recipe.speed <= 1.05 and -3 <= recipe.gain_db <= 3
        assert recipe.noise is None and recipe.reverb_rt60 is None
        assert not recipe.telephone and not recipe.codec


def test_three_recipes_in_four_reshape_the_voice_within_the_documented_ranges():
    rng = np.random.default_rng(21)
    recipes = [draw(rng) for _ in range(2000)]
    reshaped = [r for r in recipes if (r.formant, r.tilt_db) != (1.0, 0.0)]
    assert len(reshaped) / len(recipes) == pytest.approx(0.75, abs=0.035)
    assert all(0.85 <= r.formant <= 1.18 and -3 <= r.tilt_db <= 3 for r in reshaped)
    assert min(r.formant for r in reshaped) < 0.87 and max(r.formant for r in reshaped) > 1.16


def test_version_3_skews_breathes_and_varies_half_the_recipes_within_the_documented_ranges():
    rng = np.random.default_rng(22)
    recipes = [draw(rng) for _ in range(2000)]
    skewed = [r.skew for r in recipes if r.skew != 0.0]
    breathy = [r.breath_db for r in recipes if r.breath_db is not None]
    varied = [r.vary for r in recipes if r.vary != 0.0]
    for chosen in (skewed, breathy, varied):
        assert len(chosen) / len(recipes) == pytest.approx(0.5, abs=0.04)
    assert all(-0.08 <= s <= 0.08 for s in skewed) and min(skewed) < -0.07 and max(skewed) > 0.07
    assert all(-24 <= b <= -6 for b in breathy) and min(breathy) < -23 and max(breathy) > -7
    assert all(0.03 <= v <= 0.1 for v in varied) and min(varied) < 0.04 and max(varied) > 0.09


# What each version adds, as the fields an earlier version leaves at their defaults.
ADDED = {2: {"formant": 1.0, "tilt_db": 0.0}, 3: {"skew": 0.0, "breath_db": None, "vary": 0.0}}


def test_each_version_draws_after_the_last_so_earlier_fields_do_not_change():
    assert augment.VERSION == max(ADDED)
    for seed in range(50):
        by_version = {v: draw(np.random.default_rng(seed), version=v) for v in (1, 2, 3)}
        for version, added in ADDED.items():
            earlier = by_version[version - 1]
            assert all(getattr(earlier, name) == default for name, default in added.items())
            assert dataclasses.replace(by_version[version], **added) == earlier


def test_recipe_round_trips_through_json():
    rng = np.random.default_rng(14)
    for recipe in (draw(rng) for _ in range(50)):
        fields = json.loads(json.dumps(recipe.to_dict()))
        assert fields == recipe.to_dict()
        assert Augmentation(**fields) == recipe


def test_recipe_rejects_an_unknown_noise():
    with pytest.raises(ValueError, match="unknown noise 'brown'"):
        Augmentation(speed=1.0, noise="brown", snr_db=10.0, reverb_rt60=None,
                     telephone=False, codec=False, gain_db=0.0)


# Applying a recipe

EVERYTHING = Augmentation(speed=1.08, noise="babble", snr_db=10.0, reverb_rt60=0.5,
                          telephone=True, codec=True, gain_db=3.0, formant=1.1, tilt_db=1.5,
                          skew=0.05, breath_db=-15.0, vary=0.06)


def test_apply_is_deterministic_by_seed(sentences):
    speech, others = sentences[0][: 3 * SAMPLE_RATE // 2], sentences[1:]

    def augmented(seed):
        return apply(speech, EVERYTHING, np.random.default_rng(seed), others)

    np.testing.assert_array_equal(augmented(15), augmented(15))
    assert not np.array_equal(augmented(15), augmented(16))


def test_apply_returns_finite_audio_below_full_scale_of_padded_length_over_speed(sentences):
    speech = sentences[0] / np.max(np.abs(sentences[0]))  # at full scale, the hardest case
    for seed in range(12):
        rng = np.random.default_rng(seed)
        recipe = draw(rng, clean_fraction=0.0)
        out = apply(speech, recipe, rng, sentences[1:])
        assert out.dtype == np.float32 and np.all(np.isfinite(out))
        assert np.max(np.abs(out)) <= 0.99 + 1e-6
        padded = len(speech) + round(recipe.lead_s * SAMPLE_RATE) + round(recipe.trail_s * SAMPLE_RATE)
        assert len(out) == pytest.approx(padded / recipe.speed, abs=1)


def test_recipes_put_silence_around_the_speech_that_the_noise_fills(sentences):
    speech = sentences[0]
    recipe = Augmentation(speed=1.0, noise="pink", snr_db=20.0, reverb_rt60=None, telephone=False,
                          codec=False, gain_db=0.0, lead_s=0.5, trail_s=0.25)
    out = apply(speech, recipe, np.random.default_rng(0))
    lead = out[: SAMPLE_RATE // 2]
    assert len(out) == len(speech) + SAMPLE_RATE * 3 // 4
    assert 0 < np.sqrt(np.mean(lead ** 2)) < 0.2 * np.sqrt(np.mean(out[SAMPLE_RATE // 2:] ** 2))
    recipes = [draw(np.random.default_rng(seed)) for seed in range(50)]
    assert all(0 <= r.lead_s <= 0.6 and 0.1 <= r.trail_s <= 0.8 for r in recipes)


def test_apply_makes_babble_from_pink_noise_without_other_utterances(speech):
    as_pink = dataclasses.replace(EVERYTHING, noise="pink")
    np.testing.assert_array_equal(apply(speech, EVERYTHING, np.random.default_rng(17)),
                                  apply(speech, as_pink, np.random.default_rng(17)))
