"""Offline recognition: a CTC model on a device, over audio of any length.

Long audio is cut into overlapping windows whose frames line up with the
whole file's 20 ms frame grid; each window contributes only its central
frames, which have ``CONTEXT_SECONDS`` of audio on both sides. Only the best
path (a token id and a probability per frame, from the beam search of the
window when the model has a language model) is kept between windows, so
memory does not grow with the length of the file beyond a few bytes per frame.
"""

from collections.abc import Callable

import numpy as np
import torch

from .audio import SAMPLE_RATE, AudioFile, normalized
from .beam_search import BeamSearchDecoder
from .decode import best_path, decode_words
from .device import inference_dtype
from .errors import ModelError
from .modelfolder import LoadedModel
from .transcript import Transcript

WINDOW_SECONDS = 30.0
CONTEXT_SECONDS = 3.0


class Recognizer:
    """A CTC model ready for inference on ``device`` (float16 on GPUs).

    ``on_warning`` receives one-line messages the user should see, such as a
    fallback from the GPU to the CPU. Text comes from a beam search with the
    model's language model when it has one and ``language_model`` is true,
    otherwise from the most likely token at each frame (greedy).
    """

    def __init__(self, loaded: LoadedModel, device: torch.device,
                 on_warning: Callable[[str], None] | None = None, language_model: bool = True):
        if loaded.model.ctc_head is None:
            raise ModelError(f"{loaded.path or loaded.config.name}: a pretrained-only model cannot "
                             "transcribe; fine-tune it first (`vivavoce train finetune`)")
        self.config = loaded.config
        self.vocabulary = loaded.config.vocabulary
        self.model = loaded.model.freeze_for_inference()
        self.on_warning = on_warning or (lambda message: None)
        self._place(device)
        arch = loaded.config.architecture
        self.frame_stride = arch.frame_stride
        self.receptive_field = arch.receptive_field
        self.frame_seconds = arch.frame_stride / SAMPLE_RATE
        settings = loaded.config.language_model
        self.decoder = (BeamSearchDecoder(loaded.path / settings.file, self.vocabulary, settings)
                        if language_model and settings and loaded.path else None)

    def _place(self, device: torch.device) -> None:
        self.device = device
        self.dtype = inference_dtype(device)
        self.model.to(device=device, dtype=self.dtype)

    def frames_for(self, num_samples: int) -> int:
        """How many frames the model makes from ``num_samples`` samples."""
        if num_samples < self.receptive_field:
            return 0
        return (num_samples - self.receptive_field) // self.frame_stride + 1

    def log_probs(self, samples: np.ndarray) -> np.ndarray:
        """Per-frame log-probabilities, shape (frames, vocab), for 16 kHz mono float32 samples."""
        if len(samples) < self.receptive_field:
            samples = np.pad(samples, (0, self.receptive_field - len(samples)))
        if self.config.normalize_input:
            samples = normalized(samples)
        waveform = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))[None]
        try:
            return self._forward(waveform)
        except torch.OutOfMemoryError:
            self.fall_back_to_cpu()
            return self._forward(waveform)

    def fall_back_to_cpu(self) -> None:
        """After the GPU ran out of memory: say so and continue on the CPU (re-raises on the CPU)."""
        if self.device.type != "cuda":
            raise
        name = torch.cuda.get_device_name(self.device)
        torch.cuda.empty_cache()
        self.on_warning(f"the GPU ({name}) ran out of memory; recognition continues on the CPU, more slowly")
        self._place(torch.device("cpu"))

    def _forward(self, waveform: torch.Tensor) -> np.ndarray:
        with torch.inference_mode():
            logits = self.model.ctc_logits(waveform.to(self.device, self.dtype))[0]
            return torch.log_softmax(logits.float(), dim=-1).cpu().numpy()

    def best_path(self, log_probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A token and its probability per frame (see `decode.best_path`): the beam search's path when
        there is a language model, else the most likely token at each frame."""
        return self.decoder.best_path(log_probs) if self.decoder else best_path(log_probs)

    def transcribe_samples(self, samples: np.ndarray) -> Transcript:
        """Short 16 kHz mono audio held in memory, recognised in one pass."""
        ids, probs = self.best_path(self.log_probs(samples))
        words = decode_words(ids, probs, self.vocabulary, self.config.text, self.frame_seconds)
        return Transcript(words, len(samples) / SAMPLE_RATE)

    def transcribe(self, audio: AudioFile, progress: Callable[[float, float], None] | None = None,
                   window_seconds: float = WINDOW_SECONDS,
                   context_seconds: float = CONTEXT_SECONDS) -> Transcript:
        """Recognise a whole file; ``progress(done_seconds, total_seconds)`` is called after each window."""
        total = self.frames_for(audio.num_samples) or 1
        frames_per_second = SAMPLE_RATE / self.frame_stride
        context = int(context_seconds * frames_per_second)
        hop = max(1, int(window_seconds * frames_per_second) - 2 * context)
        ids = np.empty(total, dtype=np.int32)
        probs = np.empty(total, dtype=np.float32)
        for core_start in range(0, total, hop):
            core_end = min(core_start + hop, total)
            first = max(0, core_start - context)
            last = min(total, core_end + context)
            samples = audio.read(first * self.frame_stride,
                                 (last - 1) * self.frame_stride + self.receptive_field)
            window_ids, window_probs = self.best_path(self.log_probs(samples))
            ids[core_start:core_end] = window_ids[core_start - first: core_end - first]
            probs[core_start:core_end] = window_probs[core_start - first: core_end - first]
            if progress:
                done = audio.duration if core_end == total else core_end * self.frame_seconds
                progress(done, audio.duration)
        words = decode_words(ids, probs, self.vocabulary, self.config.text, self.frame_seconds)
        return Transcript(words, audio.duration)
