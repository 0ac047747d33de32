"""Training configuration: one dataclass per stage, loaded from TOML, overridden by flags.

The effective configuration is printed at the start of a run and saved beside
its output (``OUT/training/config.toml``), so every model says how it was made.
"""

import argparse
import dataclasses
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from engine.errors import VivavoceError


@dataclass
class Common:
    """Settings every training command takes."""

    seed: int = 0
    device: str = "auto"
    max_steps: int = 20000
    # Minutes of training (steps and waiting for their audio; not start-up or validation) after
    # which the run ends even short of max_steps; the learning-rate schedule then runs on the
    # share of the time spent when that is further along than the share of the steps. 0: no limit.
    max_minutes: float = 0.0
    batch_seconds: float = 80.0  # audio per optimizer step on each process, before accumulation
    accumulate: int = 1  # batches per optimizer step
    learning_rate: float = 5e-4
    weight_decay: float = 0.01
    clip_norm: float = 10.0
    valid_fraction: float = 0.05
    checkpoint_minutes: float = 10.0  # 0: after every step
    log_every: int = 10  # steps between metric events
    workers: int = 2  # processes preparing audio
    events: str = ""  # JSON-lines file the GUI follows; empty: none


@dataclass
class PretrainConfig(Common):
    data: str = ""
    out: str = ""
    init: str = ""  # a model folder or name to continue from; empty: a new model of `preset`
    preset: str = "small"
    crop_seconds: float = 15.0
    warmup_fraction: float = 0.08
    mask_prob: float = 0.65
    mask_span: int = 10
    num_negatives: int = 100
    logit_temperature: float = 0.1  # kappa
    diversity_weight: float = 0.1  # alpha
    feature_penalty: float = 10.0
    gumbel_start: float = 2.0
    gumbel_end: float = 0.5
    gumbel_decay: float = 0.999995


@dataclass
class FinetuneConfig(Common):
    data: str = ""
    out: str = ""
    init: str = ""
    language: str = "en"
    # The characters a recogniser given as --init writes: "keep" its vocabulary and output layer
    # (adapting it to a voice), or "new": a vocabulary from the transcripts and a new output layer
    # on its trained network (another language, another alphabet). "auto": "new" when more than
    # 5% of the transcripts hold characters it cannot write, else "keep". A pretrained --init
    # always gets a new one.
    vocabulary: str = "auto"
    # The transcripts are phonemes (spaces between them, "|" between words, as `vivavoce train
    # synth --phonemes` writes them): make a phoneme model, for pronunciation practice.
    phonemes: bool = False
    # The peak learning rate; -1: by the width of --init's Transformer (finetune.learning_rate_for).
    learning_rate: float = -1.0
    batch_seconds: float = 100.0
    max_utterance_seconds: float = 30.0
    # Updates at the start in which only the CTC head learns, while a new head is still random
    # (its gradients would only disturb the Transformer). -1: 1000 for a new head, none when the
    # head of --init is kept (adapting a recogniser to a voice: there is nothing to wait for).
    freeze_transformer_steps: int = -1
    # The convolutional feature encoder stays as pretraining left it, as in the paper; train it
    # too when pretraining was short or its audio differs much from the fine-tuning recordings.
    train_feature_encoder: bool = False
    stage_fractions: tuple[float, float, float] = (0.1, 0.4, 0.5)  # tri-stage: warm-up, hold, decay
    final_lr_scale: float = 0.05
    mask_prob: float = 0.5
    mask_span: int = 10
    channel_mask_prob: float = 0.25
    channel_mask_span: int = 64
    dropout: float = -1.0  # hidden and attention dropout while fine-tuning; negative: the model's own
    # Transformer layers added to the model it starts from, each beginning as the identity
    # (engine.model.deepened): a trained model made deeper without losing what it knows.
    add_layers: int = 0
    eval_every: int = 0  # steps between validations; 0: once per epoch
    patience: int = 10  # validations without improvement before stopping early
    valid_fraction: float = 0.1


def load_toml(path: str) -> dict:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as error:
        raise VivavoceError(f"--config {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise VivavoceError(f"--config {path}: not valid TOML ({error})") from None


def add_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """One ``--flag`` per field of ``cls``; unset flags stay None so the TOML file can supply them."""
    parser.add_argument("--config", metavar="FILE.toml", help="settings file; flags override it")
    parser.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    for field in fields(cls):
        flag = "--" + field.name.replace("_", "-")
        if isinstance(field.default, tuple):
            parser.add_argument(flag, dest=field.name, type=float, nargs=len(field.default), default=None)
        elif isinstance(field.default, bool):
            parser.add_argument(flag, dest=field.name, action=argparse.BooleanOptionalAction, default=None)
        else:
            parser.add_argument(flag, dest=field.name, type=type(field.default), default=None)


def resolve(cls: type, args: argparse.Namespace, required: tuple[str, ...] = ()):
    """Defaults, then the TOML file, then the flags given; checks that the required settings are there."""
    values = load_toml(args.config) if getattr(args, "config", None) else {}
    defaults = {f.name: f.default for f in fields(cls)}
    unknown = sorted(set(values) - set(defaults))
    if unknown:
        raise VivavoceError(f"--config {args.config}: unknown settings: {', '.join(unknown)}")
    for name, default in defaults.items():
        if getattr(args, name, None) is not None:
            values[name] = getattr(args, name)
        if isinstance(default, tuple) and name in values:
            values[name] = tuple(values[name])
    missing = [name for name in required if not values.get(name)]
    if missing:
        raise VivavoceError("missing settings: " + ", ".join("--" + m.replace("_", "-") for m in missing))
    try:
        return cls(**values)
    except TypeError as error:
        raise VivavoceError(f"bad settings: {error}") from None


def to_toml(config) -> str:
    """The configuration as TOML text (flat keys; strings, numbers, booleans and number lists)."""
    lines = []
    for key, value in dataclasses.asdict(config).items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (int, float)):
            text = repr(value)
        elif isinstance(value, (list, tuple)):
            text = "[" + ", ".join(repr(v) for v in value) + "]"
        else:
            text = '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
        lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"


def training_dir(out: str | Path) -> Path:
    """Where a run keeps its checkpoint and configuration, inside the model folder it produces."""
    return Path(out) / "training"


def stop_file(out: str | Path) -> Path:
    """``OUT/training/stop``: a run of one process that finds it stops as on SIGTERM or Ctrl-C (it
    ends the step, saves a checkpoint, deletes the file and exits 130). The app stops its runs
    this way, because Windows has no SIGTERM to send; a run looks for it once a step.
    """
    return training_dir(out) / "stop"
