"""Streaming recognition: feed audio as it arrives, get partial and final captions.

The stream is cut into segments. While a segment grows, every ``hop`` of new
audio updates its *partial* text, which may still change. A segment becomes
*final*, and never changes again, at a pause (the model has written nothing
but blanks for ``endpoint_silence`` seconds after some words) or when it
reaches ``max_segment`` seconds (then the words that ended more than a second
ago are finalised and the rest stays partial).

Work is not redone: the feature encoder runs only on new audio (its 20 ms
frames line up, so the projected features of audio already seen are kept), and only the
Transformer, which needs the whole context, runs again over the segment plus
``context`` seconds of audio before it. Per-utterance statistics that the
offline model takes over a whole file (input normalisation, the group norm of
BASE-style feature encoders) are running statistics here.
"""

from dataclasses import dataclass, field

import numpy as np
import torch

from .audio import SAMPLE_RATE
from .decode import best_path, decode_words
from .recognizer import Recognizer
from .transcript import Word


# Recognition starts once a second of audio from the first sound has arrived, so that the running
# statistics start from sound; silence before it is skipped but for a quarter of a second.
WARM_UP = SAMPLE_RATE
LEAD_IN = SAMPLE_RATE // 4
SILENCE_RMS = 0.003  # about -50 dBFS: quieter chunks do not update the running statistics
# The beam search runs over the whole segment at every hop, so live captions search a narrower beam
# than files: 16 hypotheses cost a third of 50's time and lose about half a point of CER (measured
# with the default model on held-out synthetic speech and on real people: benchmarks/language_model.py).
STREAMING_BEAM = 16


@dataclass
class CaptionEvent:
    """``kind`` "partial" (may change) or "final" (never changes); times in seconds from the stream's start."""

    kind: str
    words: list[Word] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)


class RunningStats:
    """Mean and variance per channel over the recent past (an exponential window of ``seconds``)."""

    def __init__(self, channels: int, rate: float, seconds: float = 10.0):
        self.mean = torch.zeros(channels)
        self.var = torch.ones(channels)
        self.seen = 0.0
        self.rate = rate
        self.seconds = seconds

    def normalise(self, x: torch.Tensor, eps: float, update: bool = True) -> torch.Tensor:
        """Return ``x`` (channels, time) normalised, after updating the statistics with it if ``update``
        (or if nothing has been seen yet)."""
        if update or not self.seen:
            self._update(x)
        return (x - self.mean.to(x)[:, None]) / torch.sqrt(self.var.to(x)[:, None] + eps)

    def _update(self, x: torch.Tensor) -> None:
        n = x.shape[-1]
        mean, var = x.mean(dim=-1).float(), x.var(dim=-1, unbiased=False).float()
        weight = n / (n + min(self.seen, self.seconds * self.rate)) if self.seen else 1.0
        delta = mean - self.mean
        self.mean = self.mean + weight * delta
        self.var = (1 - weight) * (self.var + weight * delta**2) + weight * var
        self.seen += n


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0


class StreamingRecognizer:
    def __init__(self, recognizer: Recognizer, hop: float = 0.25, context: float = 2.0,
                 max_segment: float = 10.0, endpoint_silence: float = 0.4):
        self.recognizer = recognizer
        self.model = recognizer.model
        arch = self.model.arch
        self.stride, self.field = arch.frame_stride, arch.receptive_field
        self.frame_seconds = self.stride / SAMPLE_RATE
        self.hop = int(hop * SAMPLE_RATE)
        self.context_frames = int(context / self.frame_seconds)
        self.max_frames = int(max_segment / self.frame_seconds)
        self.endpoint_frames = int(endpoint_silence / self.frame_seconds)
        self.samples = np.zeros(0, dtype=np.float32)  # not yet turned into frames
        self.unprocessed = 0  # samples fed since the last update
        self.heard = False  # whether any sound has come yet
        self.warm = False  # whether a second of audio from the first sound has come
        # Projected features (the Transformer's input) of the context and segment frames.
        self.features = torch.zeros(0, arch.hidden_size)
        self.first_frame = 0  # absolute index of features[0]
        self.segment_start = 0  # absolute index of the segment's first frame
        self.audio_stats = RunningStats(1, SAMPLE_RATE)
        self.decoder = recognizer.decoder.variant(beam=STREAMING_BEAM) if recognizer.decoder else None
        first = self.model.feature_encoder.blocks[0]
        self.group_stats = (RunningStats(arch.conv_channels[0], SAMPLE_RATE / arch.conv_strides[0])
                            if isinstance(first.norm, torch.nn.GroupNorm) else None)

    def feed(self, samples: np.ndarray) -> list[CaptionEvent]:
        """Add 16 kHz mono samples; returns the captions they changed (a partial, and finals at pauses)."""
        self.samples = np.concatenate([self.samples, samples.astype(np.float32, copy=False)])
        self.unprocessed += len(samples)
        if not self.warm:
            self._skip_leading_silence()
            if not self.warm:
                return []
        if self.unprocessed < self.hop:
            return []
        self.unprocessed = 0
        return self._guarded(lambda: self._update(final=False))

    def _guarded(self, work):
        """``work()``, run again on the CPU if the GPU runs out of memory."""
        try:
            return work()
        except torch.OutOfMemoryError:
            self.recognizer.fall_back_to_cpu()
            self.features = self.features.to("cpu", self.recognizer.dtype)
            return work()

    def _skip_leading_silence(self) -> None:
        """Drop silence before the first sound (keeping ``LEAD_IN`` of it); warm once a second of audio
        from there has arrived. Dropped audio still counts in the captions' times."""
        if not self.heard:
            frames = len(self.samples) // self.stride
            loud = [i for i in range(frames) if _rms(self.samples[i * self.stride:(i + 1) * self.stride])
                    >= SILENCE_RMS]
            first = loud[0] if loud else frames
            drop = max(0, first - LEAD_IN // self.stride)
            self.samples = self.samples[drop * self.stride:]
            self.first_frame += drop
            self.segment_start += drop
            self.heard = bool(loud)
        self.warm = self.heard and len(self.samples) >= WARM_UP

    def flush(self) -> list[CaptionEvent]:
        """The end of the stream: whatever is left becomes final."""
        return self._guarded(lambda: self._update(final=True, encode=len(self.samples) >= self.field))

    # -- the work of one update ---------------------------------------------

    def _encode_new_audio(self) -> None:
        frames = (len(self.samples) - self.field) // self.stride + 1
        if frames <= 0:
            return
        used = (frames - 1) * self.stride + self.field
        chunk = torch.from_numpy(self.samples[:used].copy())
        update = _rms(self.samples[:used]) >= SILENCE_RMS
        with torch.inference_mode():
            if self.recognizer.config.normalize_input:
                chunk = self.audio_stats.normalise(chunk[None], 1e-7, update)[0]
            new = self._feature_encoder(chunk.to(self.recognizer.device, self.recognizer.dtype), update)
            new, _ = self.model.feature_projection(new)
        self.samples = self.samples[frames * self.stride:]  # only once they are encoded (a retry redoes them)
        self.features = torch.cat([self.features.to(new), new])

    def _feature_encoder(self, waveform: torch.Tensor, update: bool) -> torch.Tensor:
        """Frames of ``waveform`` (samples,), with running statistics in place of a group norm over time."""
        blocks = self.model.feature_encoder.blocks
        if self.group_stats is None:
            return self.model.feature_encoder(waveform[None])[0]
        first = blocks[0]
        x = self.group_stats.normalise(first.conv(waveform[None, None])[0], first.norm.eps, update)
        x = first.activation(x * first.norm.weight[:, None] + first.norm.bias[:, None])[None]
        for block in blocks[1:]:
            x = block(x)
        return x[0].transpose(0, 1)

    def _update(self, final: bool, encode: bool = True) -> list[CaptionEvent]:
        if encode:
            self._encode_new_audio()
        segment_offset = self.segment_start - self.first_frame
        if len(self.features) <= segment_offset:
            return []
        with torch.inference_mode():
            model = self.model
            logits = model.ctc_head(model.transformer(self.features[None]))[0, segment_offset:]
            log_probs = torch.log_softmax(logits.float(), dim=-1).cpu().numpy()
        ids, probs = self.decoder.best_path(log_probs) if self.decoder else best_path(log_probs)
        config = self.recognizer.config
        words = decode_words(ids, probs, config.vocabulary, config.text, self.frame_seconds, self.segment_start)
        events = []
        cut = self._cut_point(ids, words, final)
        if cut is not None:
            done = [w for w in words if w.end <= cut * self.frame_seconds + 1e-9]
            if done:
                events.append(CaptionEvent("final", done))
            self._start_segment(cut)
            words = [w for w in words if w.end > cut * self.frame_seconds + 1e-9]
        if not final:
            events.append(CaptionEvent("partial", words))
        return events

    def _cut_point(self, ids: np.ndarray, words: list[Word], final: bool) -> int | None:
        """The absolute frame where the segment ends as final now, or None to keep it growing."""
        end = self.segment_start + len(ids)
        if final:
            return end
        if not words:
            # Silence only: move the segment on so it never grows without bound.
            return end - self.context_frames if len(ids) > self.max_frames else None
        blank = self.recognizer.vocabulary.blank
        spoken = np.flatnonzero(ids != blank)
        trailing = len(ids) - 1 - spoken[-1] if len(spoken) else len(ids)
        if trailing >= self.endpoint_frames:
            return end
        if len(ids) >= self.max_frames:
            settled = end - int(1.0 / self.frame_seconds)
            finished = [w for w in words if w.end <= settled * self.frame_seconds]
            return round(finished[-1].end / self.frame_seconds) if finished else end
        return None

    def _start_segment(self, frame: int) -> None:
        """Begin a new segment at absolute ``frame``, keeping ``context`` of frames before it."""
        keep_from = max(self.first_frame, frame - self.context_frames)
        self.features = self.features[keep_from - self.first_frame:]
        self.first_frame = keep_from
        self.segment_start = frame
