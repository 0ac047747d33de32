"""`vivavoce train pretrain`: self-supervised wav2vec 2.0 pretraining on a folder of recordings.

The objective (training/objective.py) masks spans of time steps and asks the
context network to pick the true quantized feature among distractors from the
same utterance. The result is a model folder of kind "pretrained", ready for
`vivavoce train finetune --init`.
"""

import math
import platform
import time
from collections import deque
from pathlib import Path

import torch
from torch import nn

from engine.errors import VivavoceError
from engine.model import Wav2Vec2, with_heads
from engine.modelfolder import ModelConfig, save_model_folder
from engine.presets import PRESETS, preset
from engine.store import load_model

from .config import PretrainConfig
from .data import AudioDataset, scan
from .objective import gumbel_temperature, pretraining_loss, sample_negatives, span_mask
from .runner import Distributed, Trainer
from .schedule import warmup_linear_decay

MIN_UTTERANCE_SECONDS = 0.5
MIN_TOTAL_SECONDS = 20.0


class PretrainingTask(nn.Module):
    """The whole pretraining loss of a batch as one forward (so DDP sees it)."""

    def __init__(self, model: Wav2Vec2, config: PretrainConfig):
        super().__init__()
        self.model = model
        self.config = config

    def forward(self, waveforms: torch.Tensor, lengths: torch.Tensor, indices: list[int], step: int):
        c = self.config
        self.model.quantizer.temperature = gumbel_temperature(step, c.gumbel_start, c.gumbel_end, c.gumbel_decay)
        encoder = self.model.feature_encoder
        frames = encoder.output_lengths(lengths)
        total = int(encoder.output_lengths(torch.tensor(waveforms.shape[1])))
        mask = span_mask((waveforms.shape[0], total), c.mask_prob, c.mask_span, 2, frames)
        mask = mask.to(waveforms.device)
        negatives = sample_negatives(mask, c.num_negatives).to(waveforms.device)
        loss = pretraining_loss(self.model, waveforms, lengths, mask, negatives, c.logit_temperature,
                                c.diversity_weight, c.feature_penalty)
        masked = max(int(loss.masked), 1)
        metrics = {"loss": loss.total.item() / masked, "contrastive": loss.contrastive.item() / masked,
                   "diversity": loss.diversity.item() / masked, "feature_penalty": loss.feature_penalty.item() / masked,
                   "accuracy": float(loss.accuracy), "perplexity": float(loss.perplexity),
                   "temperature": self.model.quantizer.temperature}
        return loss.total, float(loss.masked), metrics


class LearningWatch:
    """Says, once, when the model still picks the true target no more often than chance.

    wav2vec 2.0's objective has a trivial optimum that small batches fall into: the quantizer
    spreads its choices evenly (which the diversity loss rewards) and at random, the targets
    become unpredictable, and the contrastive loss settles at ln(K + 1). Measured on this
    project's synthetic corpus with the `compact` preset and 30 s batches (the README's
    table): with any diversity weight tried (0.02 to 0.5) the accuracy stayed at chance,
    0.02 with 50 distractors, at learning rates from 1e-4 to 2e-3, for as long as runs went
    (up to 690 updates); with the diversity loss and the feature penalty off, it was 0.29
    after 100 updates. Without this warning a user would find out only after fine-tuning.
    """

    def __init__(self, num_negatives: int, after: int = 300, window: int = 200):
        self.chance = 1 / (num_negatives + 1)
        self.after = after
        self.recent: deque[float] = deque(maxlen=window)
        self.warned = False

    def __call__(self, step: int, metrics: dict) -> str | None:
        accuracy = metrics.get("accuracy", math.nan)
        if not math.isnan(accuracy):
            self.recent.append(accuracy)
        if self.warned or step < self.after or len(self.recent) < self.recent.maxlen:
            return None
        mean = sum(self.recent) / len(self.recent)
        if mean >= 1.5 * self.chance:
            return None
        self.warned = True
        return (f"pretraining is not learning: over the last {len(self.recent)} updates the model picked the "
                f"true target {mean:.3f} of the time, chance is {self.chance:.3f}; stop it and try "
                f"--diversity-weight 0 --feature-penalty 0, a lower --learning-rate or a larger --batch-seconds")


def initial_model(config: PretrainConfig) -> Wav2Vec2:
    if config.init:
        return with_heads(load_model(config.init).model, quantizer=True, vocab_size=0)
    if config.preset not in PRESETS:
        raise VivavoceError(f"--preset {config.preset}: choose one of {', '.join(PRESETS)}")
    return Wav2Vec2(preset(config.preset, quantizer=True, vocab_size=0))


def usable_audio(data: str, warn) -> list:
    corpus = scan(data)
    for path, reason in corpus.unreadable:
        warn(f"skipped {path}: {reason}")
    usable = [u for u in corpus.utterances if u.duration >= MIN_UTTERANCE_SECONDS]
    seconds = sum(u.duration for u in usable)
    if seconds < MIN_TOTAL_SECONDS:
        raise VivavoceError(f"{data}: only {seconds:.0f} s of usable audio in {len(usable)} recordings "
                            f"({len(corpus.unreadable)} unreadable); pretraining needs at least "
                            f"{MIN_TOTAL_SECONDS:.0f} s")
    return usable


def pretrain(config: PretrainConfig, resume: bool, command: str) -> tuple[str, Path]:
    """Run pretraining; returns (outcome, model folder)."""
    dist = Distributed.from_env(config.device)
    warnings: list[str] = []
    utterances = usable_audio(config.data, warnings.append)
    torch.manual_seed(config.seed)
    model = initial_model(config)
    dataset = AudioDataset(utterances, crop_seconds=config.crop_seconds, seed=config.seed)
    durations = [min(u.duration, config.crop_seconds) for u in utterances]
    out = Path(config.out)
    trainer = Trainer(config, PretrainingTask(model, config), dataset, durations, out, command,
                      lambda step: warmup_linear_decay(step, config.max_steps, config.learning_rate,
                                                       config.warmup_fraction), dist)
    if resume:
        trainer.resume()
    trainer.write_config()
    started = time.monotonic()
    outcome = trainer.run(warnings=warnings, watch=LearningWatch(config.num_negatives))
    if outcome != "interrupted" and dist.main:
        hours = sum(u.duration for u in utterances) / 3600
        card = model_card(config, command, len(utterances), hours, trainer, time.monotonic() - started)
        model_config = ModelConfig("pretrained", model.arch, name=out.name, language="",
                                   source=f"vivavoce train pretrain on {Path(config.data).resolve()}")
        save_model_folder(model, model_config, out, card)
        trainer.events.emit("done", step=trainer.progress.step, model=str(out), outcome=outcome)
    trainer.events.close()
    return outcome, out


def model_card(config: PretrainConfig, command: str, utterances: int, hours: float, trainer: Trainer,
               seconds: float) -> str:
    device = trainer.device
    hardware = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "CPU"
    return "\n".join([
        f"# {Path(config.out).name}", "",
        "A wav2vec 2.0 model pretrained without transcripts by `vivavoce train pretrain`. It cannot "
        "transcribe until it is fine-tuned (`vivavoce train finetune --init`).", "",
        f"- data: `{Path(config.data).resolve()}`, {utterances} recordings, {hours:.2f} hours",
        f"- architecture: {'continued from ' + config.init if config.init else 'preset ' + config.preset}",
        f"- steps: {trainer.progress.step} of {config.max_steps}",
        f"- hardware: {hardware} x {trainer.dist.world}",
        f"- wall time (this session of the run): {seconds / 60:.1f} min",
        f"- command: `{command}`",
        "- full configuration: `training/config.toml` beside this card", "",
    ])
