"""Model folders: config.json + model.safetensors + README.md, saved and loaded without pickle.

A folder is written whole into a temporary sibling and renamed into place, so
the app never sees a half-written model. Reading a configuration does not load
torch (the app lists models before it has loaded the engine); the weights do.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .architecture import Architecture
from .beam_search import LanguageModelSettings
from .errors import ModelError
from .text import TextRules, Vocabulary

if TYPE_CHECKING:
    import torch

    from .model import Wav2Vec2

FORMAT = "vivavoce-model"
VERSION = 1
KINDS = ("ctc", "phoneme", "pretrained")
CONFIG = "config.json"
WEIGHTS = "model.safetensors"
CARD = "README.md"


@dataclass
class ModelConfig:
    """Everything about a model except its weights (config.json).

    normalize_input : scale each utterance to zero mean and unit variance before the model
    language_model : the token n-gram model that beam search decodes with (a file in the folder), if any
    """

    kind: str
    architecture: Architecture
    vocabulary: Vocabulary | None = None
    text: TextRules = field(default_factory=TextRules)
    language: str = "en"
    normalize_input: bool = True
    name: str = ""
    source: str = ""  # where the weights came from: a path, a URL, a training run
    language_model: LanguageModelSettings | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"model kind must be one of {', '.join(KINDS)}, not {self.kind!r}")

    def to_dict(self) -> dict:
        return {
            "format": FORMAT, "version": VERSION, "kind": self.kind, "name": self.name,
            "language": self.language, "source": self.source,
            "normalize_input": self.normalize_input, "text": self.text.to_dict(),
            "vocabulary": self.vocabulary.to_dict() if self.vocabulary else None,
            "architecture": self.architecture.to_dict(),
            **({"language_model": self.language_model.to_dict()} if self.language_model else {}),
        }

    @classmethod
    def from_dict(cls, values: dict) -> "ModelConfig":
        vocabulary = values.get("vocabulary")
        language_model = values.get("language_model")
        return cls(
            kind=values["kind"],
            architecture=Architecture.from_dict(values["architecture"]),
            vocabulary=Vocabulary.from_dict(vocabulary) if vocabulary else None,
            text=TextRules.from_dict(values.get("text", {})),
            language=values.get("language", ""),
            normalize_input=bool(values.get("normalize_input", True)),
            name=values.get("name", ""),
            source=values.get("source", ""),
            language_model=LanguageModelSettings.from_dict(language_model) if language_model else None,
        )


@dataclass
class LoadedModel:
    config: ModelConfig
    model: Wav2Vec2
    path: Path | None = None


def is_model_folder(path: Path) -> bool:
    """True when ``path`` holds a config.json written by Vivavoce."""
    try:
        return json.loads((Path(path) / CONFIG).read_text(encoding="utf-8")).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def read_config(path: Path) -> ModelConfig:
    path = Path(path)
    config_file = path / CONFIG
    if not path.is_dir():
        raise ModelError(f"{path}: no such model folder")
    if not config_file.is_file():
        raise ModelError(f"{path}: not a model folder ({CONFIG} is missing)")
    try:
        values = json.loads(config_file.read_text(encoding="utf-8"))
        if values.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} configuration")
        if values.get("version", 0) > VERSION:
            raise ValueError(f"written by a newer Vivavoce (format version {values['version']})")
        return ModelConfig.from_dict(values)
    except (ValueError, KeyError, TypeError) as error:
        raise ModelError(f"{config_file}: {error}") from None


def build_model(config: ModelConfig, origin: str) -> Wav2Vec2:
    """A model of the configured architecture, checked against the vocabulary; ``origin`` names it in errors."""
    arch = config.architecture
    if config.kind in ("ctc", "phoneme"):
        if config.vocabulary is None:
            raise ModelError(f"{origin}: a {config.kind} model needs a vocabulary")
        if arch.vocab_size != len(config.vocabulary):
            raise ModelError(f"{origin}: the vocabulary has {len(config.vocabulary)} tokens "
                             f"but the CTC head has {arch.vocab_size} outputs")
    from .model import Wav2Vec2

    return Wav2Vec2(arch)


def load_weights(model: Wav2Vec2, state: dict[str, torch.Tensor], origin: str) -> None:
    """Load ``state`` into ``model``, naming ``origin`` when a tensor is missing, unexpected or misshapen."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing:
        raise ModelError(f"{origin}: missing tensors: {_few(missing)}")
    if unexpected:
        raise ModelError(f"{origin}: unexpected tensors: {_few(unexpected)}")
    for name, tensor in state.items():
        if tensor.shape != expected[name].shape:
            raise ModelError(f"{origin}: tensor {name} has shape {tuple(tensor.shape)}, "
                             f"the configuration needs {tuple(expected[name].shape)}")
    model.load_state_dict(state)


def _few(names: list[str], limit: int = 4) -> str:
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def load_model_folder(path: Path) -> LoadedModel:
    """Read a model folder into a model on the CPU, in training mode as built."""
    path = Path(path)
    config = read_config(path)
    weights = path / WEIGHTS
    if not weights.is_file():
        raise ModelError(f"{path}: {WEIGHTS} is missing")
    if config.language_model and not (path / config.language_model.file).is_file():
        raise ModelError(f"{path}: {config.language_model.file} (its language model, named in {CONFIG}) "
                         "is missing")
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(weights)
    except (SafetensorError, OSError) as error:
        raise ModelError(f"{weights}: cannot be read ({error})") from None
    model = build_model(config, str(path))
    load_weights(model, state, str(weights))
    return LoadedModel(config, model, path)


def save_model_folder(model: Wav2Vec2, config: ModelConfig, path: Path, card: str,
                      language_model: Path | None = None) -> Path:
    """Write config.json, model.safetensors and README.md atomically into ``path``, with a copy of
    ``language_model`` (the file config.language_model names) when given.

    An existing folder at ``path`` is replaced only once the new one is
    complete; other files and folders in it (a training run's state) are kept.
    """
    from safetensors.torch import save_file

    def write(staging: Path) -> None:
        state = {name: tensor.detach().contiguous().cpu() for name, tensor in model.state_dict().items()}
        save_file(state, staging / WEIGHTS, metadata={"format": FORMAT})
        if language_model is not None and config.language_model is not None:
            shutil.copyfile(language_model, staging / config.language_model.file)

    return _write_folder(Path(path), config, card, write)


def with_language_model(folder: Path, out: Path, language_model: Path, settings: LanguageModelSettings,
                        card: str) -> Path:
    """Copy the model folder ``folder`` to ``out`` (which may be ``folder`` itself) with ``language_model``
    as its language model, ``settings`` in its config.json and ``card`` as its README.md, atomically.
    The weights are copied byte for byte (a float16 model stays float16)."""
    folder, out = Path(folder), Path(out)
    config = read_config(folder)
    config.language_model = settings
    if out.resolve() != folder.resolve():
        config.name = out.name

    def write(staging: Path) -> None:
        shutil.copyfile(folder / WEIGHTS, staging / WEIGHTS)
        shutil.copyfile(language_model, staging / settings.file)

    return _write_folder(out, config, card, write)


def _write_folder(path: Path, config: ModelConfig, card: str, write) -> Path:
    """Make a model folder in a temporary sibling of ``path`` (``write(staging)`` adds the weights and
    any language model; then config.json and README.md), flush it, and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
    try:
        write(staging)
        (staging / CONFIG).write_text(json.dumps(config.to_dict(), indent=2) + "\n", encoding="utf-8")
        (staging / CARD).write_text(card, encoding="utf-8")
        written = {entry.name for entry in staging.iterdir()}
        for name in written:
            with open(staging / name, "rb") as f:
                os.fsync(f.fileno())
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            path.rename(old)
            staging.rename(path)
            for entry in old.iterdir():  # what else lives in the folder (a training run's state) stays
                if entry.name not in written:
                    entry.rename(path / entry.name)
            shutil.rmtree(old)
        else:
            staging.rename(path)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise ModelError(f"{path}: the model could not be written ({error.strerror or error})") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path
