"""Augmentation of synthetic speech: speed, voice, noise, reverberation, telephone band, codec, gain.

The synthesisers give a few clean voices; a recogniser trained on them alone fails on real
microphones. Each utterance of a synthetic corpus therefore gets a recipe (`draw`), recorded in the
corpus manifest (`Augmentation.to_dict`), and `apply` turns the clean audio into what a microphone
in a room might have heard. Every random choice comes from the `numpy.random.Generator` passed in,
so a corpus is reproduced exactly from its seed.

All audio is mono float32 at 16 kHz (`SAMPLE_RATE`), amplitude in [-1, 1].
"""

import io
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from fractions import Fraction

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

from engine.audio import SAMPLE_RATE

NOISES = ("white", "pink", "babble")

_FRAME = SAMPLE_RATE // 50  # 20 ms: the frame over which speech activity is judged
_ACTIVE_RANGE_DB = 40.0  # frames this far below the loudest one are pauses, not speech
_PEAK = 0.99  # the highest peak `gain` leaves, so that no later int16 write clips
# What `draw` can choose; a corpus records the version it was made with and keeps it when extended.
#   1: speed, noise, room, line, codec, gain, silence around the speech.
#   2: and another talker's vocal tract and voice quality (formant, tilt_db).
#   3: and formants moved unevenly (skew), breath noise (breath_db), a drifting pace (vary).
VERSION = 3

# The low-bit-rate codecs a `codec` round trip picks from, as (format, subtype, lowest and highest
# soundfile compression_level). Measured on espeak-ng speech at 16 kHz: MP3 (average bit rate)
# 0.9-0.99 gives 12-30 kbit/s (1.0 is refused by libsndfile); Vorbis 0.9-1.0, its lowest
# qualities, 30-60 kbit/s; Opus 0.9-0.97 about 15-35 kbit/s (above 0.97 it degrades badly).
CODECS = (
    ("MP3", "MPEG_LAYER_III", 0.9, 0.99),
    ("OGG", "VORBIS", 0.9, 1.0),
    ("OGG", "OPUS", 0.9, 0.97),
)


def _as_audio(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float32)


def _unit_rms(x: np.ndarray) -> np.ndarray:
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    return _as_audio(x / rms if rms > 0 else x)


def active_power(speech: np.ndarray) -> float:
    """Mean power of ``speech`` over its active 20 ms frames (within 40 dB of the loudest frame).

    Pauses and leading/trailing silence do not dilute the level, so an SNR means the same for
    a sentence with long pauses as for one without. A signal shorter than one frame is one frame.
    """
    x = np.asarray(speech, dtype=np.float64)
    frames = x[: len(x) // _FRAME * _FRAME].reshape(-1, _FRAME) if len(x) >= _FRAME else x[None]
    power = np.mean(np.square(frames), axis=1)
    active = power >= power.max() * 10 ** (-_ACTIVE_RANGE_DB / 10)
    return float(np.mean(power[active]))


def white_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of Gaussian white noise scaled to unit RMS."""
    return _unit_rms(rng.standard_normal(n))


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of pink noise (power spectral density ~ 1/f, -3 dB per octave), unit RMS.

    White noise shaped in the frequency domain (the DC bin removed) over a power-of-two length,
    since an FFT of a length with a large prime factor is several times slower, then cut to ``n``.
    """
    size = 1 << max(1, n - 1).bit_length()
    spectrum = np.fft.rfft(rng.standard_normal(size))
    frequency = np.fft.rfftfreq(size)
    spectrum[0] = 0
    spectrum[1:] /= np.sqrt(frequency[1:])
    return _unit_rms(np.fft.irfft(spectrum, n=size)[:n])


def babble(others: Sequence[np.ndarray], n: int, rng: np.random.Generator,
           talkers: tuple[int, int] = (3, 6)) -> np.ndarray:
    """``n`` samples of babble: random segments of ``talkers`` (lowest, highest; drawn) utterances, unit RMS.

    Each talker is a random utterance of ``others`` from a random point, looped if shorter than
    ``n``, at equal active level. Raises ValueError when ``others`` is empty.
    """
    if not others:
        raise ValueError("babble needs at least one other utterance")
    mix = np.zeros(n, dtype=np.float64)
    for _ in range(rng.integers(talkers[0], talkers[1] + 1)):
        utterance = np.asarray(others[rng.integers(len(others))], dtype=np.float64)
        start = int(rng.integers(len(utterance)))
        if len(utterance) >= n + start:
            segment = utterance[start:start + n]
        else:
            segment = np.resize(np.roll(utterance, -start), n)
        power = active_power(segment)
        if power > 0:
            mix += segment / math.sqrt(power)
    return _unit_rms(mix)


def add_noise(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``speech`` plus ``noise`` (same length) scaled to ``snr_db`` below the active speech power.

    The SNR is active speech power (`active_power`) over the noise's mean power. Silent speech
    has no level to measure against and comes back unchanged.
    """
    if len(noise) != len(speech):
        raise ValueError(f"noise has {len(noise)} samples, speech {len(speech)}")
    speech_power = active_power(speech)
    noise_power = float(np.mean(np.square(noise, dtype=np.float64)))
    if speech_power == 0 or noise_power == 0:
        return _as_audio(speech)
    scale = math.sqrt(speech_power / noise_power * 10 ** (-snr_db / 10))
    return _as_audio(speech + scale * np.asarray(noise, dtype=np.float64))


def room_impulse_response(rng: np.random.Generator, rt60: float | tuple[float, float] = (0.2, 0.8),
                          seconds: float | None = None) -> np.ndarray:
    """A simulated room impulse response at 16 kHz, direct path first, scaled to unit energy.

    ``rt60`` (seconds) is the reverberation time, or a (lowest, highest) range to draw it from
    uniformly. The response is a direct path at sample 0; 3 to 6 early reflections 2-30 ms later
    at 0.1-0.5 of its amplitude (fading with the same decay); and, from the first reflection on,
    a Gaussian noise tail whose energy decays by 60 dB in ``rt60`` and whose total energy is
    -6 to +6 dB relative to the direct path (a direct-to-reverberant ratio from a close talker to
    one across a small room). ``seconds`` is its length, ``rt60`` by default (the tail is then
    60 dB down).
    """
    if isinstance(rt60, tuple):
        rt60 = float(rng.uniform(*rt60))
    n = max(1, round((rt60 if seconds is None else seconds) * SAMPLE_RATE))
    decay = math.log(1000.0) / rt60  # amplitude e-folding rate for 60 dB of energy in rt60, 1/s
    envelope = np.exp(-decay * np.arange(n) / SAMPLE_RATE)
    reflections = rng.integers(round(0.002 * SAMPLE_RATE), round(0.030 * SAMPLE_RATE),
                               size=rng.integers(3, 7))
    tail = rng.standard_normal(n) * envelope
    tail[: min(reflections.min(), n)] = 0
    direct_to_reverberant_db = rng.uniform(-6.0, 6.0)
    tail_energy = float(np.sum(tail**2))
    if tail_energy > 0:
        tail *= math.sqrt(10 ** (-direct_to_reverberant_db / 10) / tail_energy)
    rir = tail
    rir[0] += 1.0
    for delay in reflections[reflections < n]:
        rir[delay] += rng.uniform(0.1, 0.5) * envelope[delay]
    return _as_audio(rir / np.sqrt(np.sum(rir**2)))


def reverberate(speech: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """``speech`` convolved with ``rir``: same length, aligned on the direct path, same RMS.

    The direct path is the largest sample of ``rir``; the output starts when it arrives, so
    the words stay where they were (transcript timings hold). Silence stays silence.
    """
    direct = int(np.argmax(np.abs(rir)))
    wet = AF.fftconvolve(torch.from_numpy(_as_audio(speech)), torch.from_numpy(_as_audio(rir)))
    wet = wet[direct:direct + len(speech)].numpy().astype(np.float64)
    dry_rms = np.sqrt(np.mean(np.square(speech, dtype=np.float64)))
    wet_rms = np.sqrt(np.mean(np.square(wet)))
    return _as_audio(wet * (dry_rms / wet_rms) if wet_rms > 0 else wet)


def _highpass(x: torch.Tensor, sample_rate: int, cutoff: float) -> torch.Tensor:
    """Zero-phase high-pass: a Butterworth biquad run forwards and backwards (-24 dB/octave).

    The coefficients are torchaudio's `highpass_biquad` ones (Q = 1/sqrt(2)); that function
    clamps its output to [-1, 1], which would clip loud noisy speech, so `filtfilt` runs them.
    """
    w0 = 2 * math.pi * cutoff / sample_rate
    alpha = math.sin(w0) / (2 / math.sqrt(2))
    b = torch.tensor([(1 + math.cos(w0)) / 2, -1 - math.cos(w0), (1 + math.cos(w0)) / 2])
    a = torch.tensor([1 + alpha, -2 * math.cos(w0), 1 - alpha])
    return AF.filtfilt(x, a.to(x.dtype), b.to(x.dtype), clamp=False)


def telephone(speech: np.ndarray) -> np.ndarray:
    """``speech`` as a narrow-band telephone line carries it: 300-3400 Hz through an 8 kHz channel.

    Down to 8 kHz and back up through the resampler's own sharp 3.4 kHz low-pass (which also
    keeps the upsampling images out), with a 300 Hz high-pass between; same length out.
    """
    narrow = 8000
    band_edge = {"lowpass_filter_width": 16, "rolloff": 3400 / (narrow / 2)}
    x = torch.from_numpy(_as_audio(speech))
    x = AF.resample(x, SAMPLE_RATE, narrow, **band_edge)
    x = _highpass(x, narrow, 300.0)
    x = AF.resample(x, narrow, SAMPLE_RATE, **band_edge)
    out = np.zeros(len(speech), dtype=np.float32)
    out[: min(len(x), len(out))] = x[: len(out)].numpy()
    return out


def codec(speech: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``speech`` after a lossy encode/decode in memory, same length.

    The codec is drawn from MP3, Ogg Vorbis and Ogg Opus at their lowest bit rates (about
    12-60 kbit/s at 16 kHz, see `CODECS`); soundfile's bundled libsndfile encodes all three.
    """
    container, subtype, lowest, highest = CODECS[rng.integers(len(CODECS))]
    level = float(rng.uniform(lowest, highest))
    options = {"bitrate_mode": "AVERAGE"} if container == "MP3" else {}
    buffer = io.BytesIO()
    # The encoders take [-1, 1]; louder samples would wrap or clip differently per codec.
    sf.write(buffer, np.clip(speech, -1.0, 1.0), SAMPLE_RATE, format=container, subtype=subtype,
             compression_level=level, **options)
    buffer.seek(0)
    decoded, _ = sf.read(buffer, dtype="float32")
    out = np.zeros(len(speech), dtype=np.float32)
    out[: min(len(decoded), len(out))] = decoded[: len(out)]
    return out


def gain(speech: np.ndarray, db: float) -> np.ndarray:
    """``speech`` scaled by ``db`` decibels, then scaled down if needed so its peak is at most 0.99.

    Scaling rather than clipping keeps the waveform undistorted.
    """
    x = np.asarray(speech, dtype=np.float64) * 10 ** (db / 20)
    peak = float(np.max(np.abs(x), initial=0.0))
    return _as_audio(x * (_PEAK / peak) if peak > _PEAK else x)


def perturb_speed(speech: np.ndarray, factor: float) -> np.ndarray:
    """``speech`` played ``factor`` times faster (Kaldi speed perturbation): about len/factor samples.

    Resampling changes tempo, pitch and formants together, as a shorter or longer vocal tract
    would. ``factor`` is realised as the nearest fraction with a denominator of at most 100
    (exact for steps of 0.01), which keeps the resampling kernel small.
    """
    ratio = Fraction(factor).limit_denominator(100)
    x = torch.from_numpy(_as_audio(speech))
    return AF.resample(x, ratio.numerator, ratio.denominator).numpy()


def vary_speed(speech: np.ndarray, depth: float, rng: np.random.Generator) -> np.ndarray:
    """``speech`` played at a speed that drifts by about ``depth`` over the utterance; same length.

    Synthesisers keep one pace and one pitch range through a sentence; people speed up, slow
    down and rise and fall with the phrase. The speed follows the sum of three sinusoids of
    0.2-1.5 Hz (random frequencies and phases, so a few swells per sentence, slower than
    syllables), scaled to peak at ``depth``, then rescaled so the length stays the same. Like
    `perturb_speed` it moves tempo and pitch together, here by about ``depth`` at most. The audio
    is first upsampled four times (band-limited), then read at the drifting positions by linear
    interpolation, which loses under 0.5 dB up to 6 kHz.
    """
    x = _as_audio(speech)
    if depth == 0.0 or len(x) < 2:
        return x
    n = len(x)
    t = np.arange(n) / SAMPLE_RATE
    drift = sum(np.sin(2 * np.pi * rng.uniform(0.2, 1.5) * t + rng.uniform(0, 2 * np.pi)) for _ in range(3))
    rate = (1.0 + depth * drift / np.max(np.abs(drift)))[: n - 1]
    # Steps scaled to end on the last sample: the pace drifts, the duration stays the same.
    positions = np.minimum(np.concatenate([[0.0], np.cumsum(rate * ((n - 1) / rate.sum()))]), n - 1)
    upsampled = AF.resample(torch.from_numpy(x), 1, 4).numpy()
    return _as_audio(np.interp(4 * positions, np.arange(len(upsampled)), upsampled))


_VOICE_FFT = 512  # 32 ms: several pitch periods of the lowest voices
_VOICE_HOP = 128
_LPC_ORDER = 20  # the usual 2 + one pole pair per kHz of bandwidth at 16 kHz
_VOICE_MAX_GAIN_DB = 24.0  # the most the reshaped envelope may lift or cut any one bin


def _lpc_log_envelope(power: torch.Tensor) -> torch.Tensor:
    """The log-magnitude all-pole (LPC) envelope of each frame of a power spectrum (bins, frames).

    Autocorrelation from the power spectrum, then the Levinson-Durbin recursion for every frame at
    once; the envelope's gain is left out, as only ratios of envelopes are used.
    """
    autocorrelation = torch.fft.irfft(power, n=_VOICE_FFT, dim=0)[: _LPC_ORDER + 1].T  # (frames, lags)
    autocorrelation[:, 0] = autocorrelation[:, 0] * (1 + 1e-4) + 1e-12  # conditioning for silent frames
    a = torch.zeros_like(autocorrelation)
    a[:, 0] = 1.0
    error = autocorrelation[:, 0].clone()
    for i in range(1, _LPC_ORDER + 1):
        reflection = -(a[:, :i] * autocorrelation[:, 1:i + 1].flip(1)).sum(dim=1) / error
        a[:, 1:i + 1] = a[:, 1:i + 1] + reflection[:, None] * a[:, :i].flip(1)
        error = error * (1 - reflection ** 2)
    return -torch.log(torch.fft.rfft(a, n=_VOICE_FFT, dim=1).abs().clamp_min(1e-9)).T


def reshape_voice(speech: np.ndarray, formant: float, tilt_db: float, skew: float = 0.0,
                  breath_db: float | None = None, rng: np.random.Generator | None = None) -> np.ndarray:
    """``speech`` with its formants moved ``formant`` times higher and its spectrum tilted; same length.

    Speed perturbation scales tempo, pitch and formants together; this moves the formants alone, as
    a talker with a shorter (``formant`` > 1) or longer vocal tract would have them, and leaves pitch
    and timing as they were. Each 32 ms frame's spectral envelope (an order-20 LPC fit) is read at
    ``f / (formant * (f / 1 kHz) ** skew)`` instead of ``f``, and the frame is filtered by the ratio
    of the two, so the harmonics stay where the glottis put them. ``skew`` moves the higher formants
    further than the lower ones (or less, below 0): vocal tracts differ in shape, not only length,
    so one talker's F1 and F2 do not scale alike. ``tilt_db`` adds that many dB per octave around
    1 kHz, the spread between breathy (steep) and pressed (flat) voices and between microphones.
    ``breath_db`` adds noise shaped by each reshaped frame's envelope, that many dB below the
    frame's power, as turbulent air through a glottis that does not quite close (drawn from
    ``rng``). The peak is not adjusted; `gain` does that at the end of `apply`.
    """
    neutral = formant == 1.0 and tilt_db == 0.0 and skew == 0.0 and breath_db is None
    if len(speech) < _VOICE_FFT or neutral:
        return _as_audio(speech)
    if breath_db is not None and rng is None:
        raise ValueError("breath noise needs a random generator")
    x = torch.from_numpy(_as_audio(speech)).double()
    window = torch.hann_window(_VOICE_FFT, dtype=x.dtype)
    spectrum = torch.stft(x, _VOICE_FFT, _VOICE_HOP, window=window, return_complex=True)  # (bins, frames)
    bins = spectrum.shape[0]
    envelope = _lpc_log_envelope(spectrum.abs() ** 2)
    hz = torch.arange(bins, dtype=x.dtype) * (SAMPLE_RATE / _VOICE_FFT)
    octaves = torch.log2(hz.clamp_min(62.5) / 1000.0)  # from 1 kHz; the lowest bins as 62.5 Hz
    # The envelope at the warped frequency, linearly interpolated between bins; above the band, its last bin.
    source = (torch.arange(bins, dtype=x.dtype) / (formant * torch.exp2(skew * octaves))).clamp(max=bins - 1)
    below = source.floor().long().clamp(max=bins - 2)
    fraction = (source - below)[:, None]
    moved = envelope[below] * (1 - fraction) + envelope[below + 1] * fraction
    tilt = tilt_db * octaves * (math.log(10) / 20)
    limit = _VOICE_MAX_GAIN_DB * math.log(10) / 20
    log_gain = (moved - envelope + tilt[:, None]).clamp(-limit, limit)
    reshaped = spectrum * torch.exp(log_gain)
    if breath_db is not None:
        noise = torch.stft(torch.from_numpy(rng.standard_normal(len(x))), _VOICE_FFT, _VOICE_HOP,
                           window=window, return_complex=True) * torch.exp(envelope + log_gain)
        # Each frame's noise scaled to breath_db below that frame's speech; silence stays silent.
        speech_power = (reshaped.abs() ** 2).sum(dim=0)
        noise_power = (noise.abs() ** 2).sum(dim=0).clamp_min(1e-30)
        reshaped = reshaped + noise * torch.sqrt(10 ** (breath_db / 10) * speech_power / noise_power)
    out = torch.istft(reshaped, _VOICE_FFT, _VOICE_HOP, window=window, length=len(x))
    return _as_audio(out.numpy())


@dataclass(frozen=True)
class Augmentation:
    """One utterance's recipe; `apply` carries it out, the corpus manifest records `to_dict()`.

    speed: tempo factor (1.1 is 10% faster and higher). noise: "white", "pink", "babble" or None.
    snr_db: active speech over noise power, dB (None without noise). reverb_rt60: seconds, or None
    for a dry recording. telephone: 300-3400 Hz band limit. codec: low-bit-rate lossy round trip.
    gain_db: level change, dB (the result's peak is kept at most 0.99). lead_s, trail_s: silence
    added before and after the speech, seconds, so that a model hears pauses and learns that
    the noise floor between words is not speech (live captions listen to silence most of the time).
    formant, tilt_db, skew, breath_db: the talker's vocal tract and voice quality (`reshape_voice`);
    1.0, 0.0, 0.0 and None leave the synthesiser's voice as it is. vary: how far the talker's
    pace drifts through the utterance (`vary_speed`), 0.0 for the synthesiser's steady one.
    """

    speed: float
    noise: str | None
    snr_db: float | None
    reverb_rt60: float | None
    telephone: bool
    codec: bool
    gain_db: float
    lead_s: float = 0.0
    trail_s: float = 0.0
    formant: float = 1.0
    tilt_db: float = 0.0
    skew: float = 0.0
    breath_db: float | None = None
    vary: float = 0.0

    def __post_init__(self):
        if self.noise not in (*NOISES, None):
            raise ValueError(f"unknown noise {self.noise!r}; expected one of {NOISES} or None")
        if (self.noise is None) != (self.snr_db is None):
            raise ValueError("noise and snr_db go together")

    def to_dict(self) -> dict:
        """The recipe as a JSON-serialisable dict of its fields."""
        return asdict(self)


def draw(rng: np.random.Generator, clean_fraction: float = 0.3, version: int = VERSION) -> Augmentation:
    """A random recipe.

    With probability ``clean_fraction`` the utterance stays clean: speed 0.95-1.05 and gain
    -3..+3 dB only. Otherwise: speed 0.9-1.1; noise with probability 0.6 (pink 40%, babble 40%,
    white 20%) at an SNR of 5-30 dB; reverberation with probability 0.3, RT60 0.2-0.8 s;
    telephone band with probability 0.1; codec with probability 0.1; gain -6..+6 dB. All ranges
    are uniform. Every recipe adds 0-0.6 s of silence before the speech and 0.1-0.8 s after it.
    From `VERSION` 2, clean or not, three utterances in four then get another talker's voice
    (`reshape_voice`): formants 0.85-1.18 times the synthesiser's (uniform in log, about the
    spread between adults), tilted by -3..+3 dB per octave. From version 3, each of these with
    probability one half: the formants skewed by -0.08..+0.08 (F3 moved up to 14% more or less
    than F1), breath noise 24-6 dB below the voice, and a pace that drifts by 3-10% (`vary_speed`).
    Each version's choices are drawn after the earlier versions', so the fields an earlier
    version has are the same, for the same generator, whichever version draws.
    Values are rounded (speed, formant and vary 0.01, skew 0.001, dB 0.1, seconds 0.01) so the
    manifest reads well and the recipe holds exactly what was applied.
    """
    pads = {"lead_s": round(rng.uniform(0.0, 0.6), 2), "trail_s": round(rng.uniform(0.1, 0.8), 2)}
    if rng.random() < clean_fraction:
        recipe = Augmentation(speed=round(rng.uniform(0.95, 1.05), 2), noise=None, snr_db=None,
                              reverb_rt60=None, telephone=False, codec=False,
                              gain_db=round(rng.uniform(-3.0, 3.0), 1), **pads)
    else:
        speed = round(rng.uniform(0.9, 1.1), 2)
        noise = str(rng.choice(NOISES, p=[0.2, 0.4, 0.4])) if rng.random() < 0.6 else None
        snr_db = round(rng.uniform(5.0, 30.0), 1) if noise else None
        reverb_rt60 = round(rng.uniform(0.2, 0.8), 2) if rng.random() < 0.3 else None
        recipe = Augmentation(speed=speed, noise=noise, snr_db=snr_db, reverb_rt60=reverb_rt60,
                              telephone=bool(rng.random() < 0.1), codec=bool(rng.random() < 0.1),
                              gain_db=round(rng.uniform(-6.0, 6.0), 1), **pads)
    if version >= 2 and rng.random() < 0.75:
        recipe = replace(recipe, formant=round(math.exp(rng.uniform(math.log(0.85), math.log(1.18))), 2),
                         tilt_db=round(rng.uniform(-3.0, 3.0), 1))
    if version >= 3:
        if rng.random() < 0.5:
            recipe = replace(recipe, skew=round(rng.uniform(-0.08, 0.08), 3))
        if rng.random() < 0.5:
            recipe = replace(recipe, breath_db=round(rng.uniform(-24.0, -6.0), 1))
        if rng.random() < 0.5:
            recipe = replace(recipe, vary=round(rng.uniform(0.03, 0.1), 2))
    return recipe


def apply(speech: np.ndarray, recipe: Augmentation, rng: np.random.Generator,
          others: Sequence[np.ndarray] = ()) -> np.ndarray:
    """``speech`` augmented by ``recipe``, in physical order: speed, voice, room, noise, line, codec, gain.

    The talker's rate, its drift and voice come first, then the room's reverberation, then noise in the
    room, then the telephone line and the codec, then the recording level. Babble is made from
    ``others`` (pink noise if there are none). Silence is added first (the talker pauses), so
    the room and the noise fill it. The length is (len(speech) + pads)/speed; the peak is at
    most 0.99.
    """
    lead, trail = (int(round(s * SAMPLE_RATE)) for s in (recipe.lead_s, recipe.trail_s))
    x = perturb_speed(np.pad(_as_audio(speech), (lead, trail)), recipe.speed)
    x = vary_speed(x, recipe.vary, rng)
    x = reshape_voice(x, recipe.formant, recipe.tilt_db, recipe.skew, recipe.breath_db, rng)
    if recipe.reverb_rt60 is not None:
        x = reverberate(x, room_impulse_response(rng, rt60=recipe.reverb_rt60))
    if recipe.noise is not None:
        if recipe.noise == "white":
            noise = white_noise(len(x), rng)
        elif recipe.noise == "babble" and others:
            noise = babble(others, len(x), rng)
        else:
            noise = pink_noise(len(x), rng)
        x = add_noise(x, noise, recipe.snr_db)
    if recipe.telephone:
        x = telephone(x)
    if recipe.codec:
        x = codec(x, rng)
    return gain(x, recipe.gain_db)
