"""A tiny CTC model, over-fitted on a handful of espeak-ng sentences, for tests that need real recognition.

Until the default model exists this is what proves that the model, the CTC
loss and the decoder fit together: it must read its sentences back, alone or
in the silence around them that live capture records.
"""

from pathlib import Path

import numpy as np
import torch

from conftest import speak
from engine.audio import load_audio, normalized
from engine.modelfolder import ModelConfig, save_model_folder
from engine.model import Wav2Vec2
from engine.presets import preset
from engine.text import TextRules, Vocabulary

SENTENCES = [
    "the quick brown fox jumps over the lazy dog",
    "she sells sea shells by the sea shore",
    "a stitch in time saves nine",
    "every cloud has a silver lining",
    "actions speak louder than words",
]
TOKENS = ["<pad>", "|"] + list("abcdefghijklmnopqrstuvwxyz'")
STEPS = 300


def silence(rng) -> tuple[int, int]:
    """Samples of silence before and after a sentence: none half the time, else up to 0.5 s each."""
    return (0, 0) if rng.random() < 0.5 else (int(rng.integers(0, 8000)), int(rng.integers(0, 8000)))


def train_tiny_model(folder: Path) -> tuple[Path, dict[Path, str]]:
    torch.manual_seed(0)
    clips = {speak(text, folder / f"sentence{i}.wav"): text for i, text in enumerate(SENTENCES)}
    speech = [load_audio(path) for path in clips]
    rng = np.random.default_rng(0)
    vocabulary = Vocabulary(tuple(TOKENS), blank=0, delimiter="|")
    arch = preset("tiny", conv_channels=(64,) * 7, hidden_size=96, num_layers=2, num_heads=4,
                  ffn_size=192, pos_conv_kernel=32, pos_conv_groups=8, quantizer=False,
                  vocab_size=len(TOKENS), dropout=0.0, attention_dropout=0.0)
    model = Wav2Vec2(arch)
    targets = [torch.tensor([TOKENS.index("|" if c == " " else c) for c in s]) for s in SENTENCES]
    target_lengths = torch.tensor([len(t) for t in targets])
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    for _ in range(STEPS):
        # Each step the sentences sit in a different amount of digital silence, as they do when
        # captured live, so that the model reads them wherever they start.
        waves = [torch.from_numpy(normalized(np.pad(x, silence(rng)))) for x in speech]
        lengths = torch.tensor([len(w) for w in waves])
        batch = torch.nn.utils.rnn.pad_sequence(waves, batch_first=True)
        log_probs = model.ctc_logits(batch, lengths).log_softmax(-1).transpose(0, 1)
        frames = model.feature_encoder.output_lengths(lengths)
        loss = torch.nn.functional.ctc_loss(log_probs, torch.cat(targets), frames, target_lengths)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
    config = ModelConfig(kind="ctc", architecture=arch, vocabulary=vocabulary, text=TextRules("lower"),
                         language="en", name="tiny-overfit", source="tests/trained_model.py")
    path = save_model_folder(model, config, folder / "tiny-overfit",
                             card="# tiny-overfit\n\nOver-fitted on five espeak-ng sentences, for tests.\n")
    return path, clips
