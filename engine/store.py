"""The model store: installed models in the user's data folder, and the bundled ones.

A model is named on the command line by the name of an installed or bundled
model, or by a path to a Vivavoce model folder or a Hugging Face wav2vec 2.0
folder. Installing copies a model in as a Vivavoce folder, atomically: a
failed import leaves nothing behind.
"""

import datetime
import importlib.resources
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path


from .errors import ModelError
from .paths import data_dir
from .modelfolder import (CARD, CONFIG, LoadedModel, ModelConfig, is_model_folder,
                          load_model_folder, read_config, save_model_folder)

DEFAULT_MODEL = "default"
DEFAULT_PHONEME_MODEL = "phonemes-en"  # the bundled phoneme model, for pronunciation practice


def models_dir() -> Path:
    return data_dir() / "models"


def bundled_models_dir() -> Path | None:
    """The models shipped inside the application, if any."""
    folder = importlib.resources.files("assets") / "models"
    return Path(str(folder)) if folder.is_dir() else None


@dataclass
class ModelEntry:
    name: str
    path: Path
    config: ModelConfig
    bundled: bool

    @property
    def summary(self) -> str:
        """The first paragraph of the model card after its title: what the model is, in a few lines."""
        try:
            card = (self.path / CARD).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return ""
        paragraphs = [" ".join(p.split()) for p in card.split("\n\n")]
        return plain_text(next((p for p in paragraphs if p and not p.startswith("#")), ""))


def plain_text(markdown: str) -> str:
    """One paragraph of Markdown as it reads: links as their text, no code or emphasis marks
    (a tooltip or a message shows text as written, and a screen reader would spell them out)."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", markdown)
    text = re.sub(r"`([^`]*)`", r"\1", text)
    return re.sub(r"(\*\*|__|(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w))", "", text)


def list_models() -> list[ModelEntry]:
    """Installed models, then bundled ones not shadowed by an installed model of the same name."""
    entries: dict[str, ModelEntry] = {}
    for root, bundled in ((models_dir(), False), (bundled_models_dir(), True)):
        if root is None or not root.is_dir():
            continue
        for folder in sorted(root.iterdir()):
            if folder.name.startswith(".") or folder.name in entries or not is_model_folder(folder):
                continue
            entries[folder.name] = ModelEntry(folder.name, folder, read_config(folder), bundled)
    return list(entries.values())


def resolve_model(spec: str | None) -> Path:
    """The folder that ``spec`` (a model name or a path; None for the default) refers to."""
    if spec is None:
        spec = DEFAULT_MODEL
        installed = {entry.name: entry.path for entry in list_models()}
        if spec not in installed:
            raise ModelError("no model given and no default model is installed: pass --model NAME|PATH "
                             "(`vivavoce models list` shows the installed ones; `vivavoce models download "
                             "facebook/wav2vec2-base-960h` gets one)")
        return installed[spec]
    path = Path(spec).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise ModelError(f"{spec}: a model is a folder (config.json and weights), not a file")
    for entry in list_models():
        if entry.name == spec:
            return entry.path
    if os.sep in spec or spec.startswith("."):
        raise ModelError(f"{spec}: no such model folder")
    names = ", ".join(entry.name for entry in list_models()) or "none"
    raise ModelError(f"{spec}: no such model (installed: {names})")


def load_model(spec: str | None) -> LoadedModel:
    """Load a model by name or path: a Vivavoce folder or a Hugging Face folder, read directly."""
    from .hf_import import is_hf_folder, load_hf_folder  # loads torch, which listing models must not

    path = resolve_model(spec)
    if is_hf_folder(path):
        return load_hf_folder(path)
    if not (path / CONFIG).is_file():
        raise ModelError(f"{path}: not a model folder ({CONFIG} is missing)")
    return load_model_folder(path)


def phoneme_models() -> list[ModelEntry]:
    """The installed and bundled phoneme models, the default one first."""
    found = [entry for entry in list_models() if entry.config.kind == "phoneme"]
    return sorted(found, key=lambda entry: entry.name != DEFAULT_PHONEME_MODEL)


def load_phoneme_model(spec: str | None) -> LoadedModel:
    """A phoneme model by name or path; None: the bundled one (or any phoneme model installed)."""
    if spec is None:
        found = phoneme_models()
        if not found:
            raise ModelError("no phoneme model is installed, and pronunciation needs one: pass --model NAME|PATH "
                             "(`vivavoce models list` shows each model's kind)")
        spec = str(found[0].path)
    loaded = load_model(spec)
    if loaded.config.kind != "phoneme":
        raise ModelError(f"{spec}: a {loaded.config.kind} model; pronunciation needs a phoneme model "
                         "(`vivavoce models list` shows each model's kind)")
    return loaded


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def valid_name(name: str) -> bool:
    """Whether ``name`` can name a model: a plain folder name, never a path."""
    return bool(_NAME.match(name))


def check_name(name: str, setting: str = "--name") -> None:
    """Raise ModelError unless ``name`` can name an installed model that is not installed yet."""
    if not valid_name(name):
        raise ModelError(f"{setting} {name!r}: use letters, digits, '.', '_' and '-' (at most 64)")
    target = models_dir() / name
    if target.exists():
        raise ModelError(f"a model named {name!r} is already installed ({target}); "
                         f"remove it first or choose another {setting}")


def import_model(source: str, name: str | None = None, origin: str | None = None) -> ModelEntry:
    """Install the model at ``source`` into the store under ``name`` (default: the folder's name).

    A Hugging Face model gets a card saying what it is and where it came from (``origin``, else
    ``source``), followed by its authors' card (the folder's README.md) when it has one."""
    path = Path(source).expanduser()
    if not path.is_dir():
        raise ModelError(f"{source}: no such model folder")
    name = name or path.resolve().name
    check_name(name)
    target = models_dir() / name
    loaded = load_model(str(path))
    loaded.config.name = name
    card_file = path / CARD
    if is_model_folder(path) and card_file.is_file():
        card = card_file.read_text(encoding="utf-8")
    else:
        upstream = card_file.read_text(encoding="utf-8", errors="replace") if card_file.is_file() else ""
        card = model_card(loaded, origin or f"`{path.resolve()}`", upstream)
    settings = loaded.config.language_model
    save_model_folder(loaded.model, loaded.config, target, card,
                      language_model=path / settings.file if settings else None)
    return ModelEntry(name, target, loaded.config, bundled=False)


def install_folder(folder: Path, name: str) -> Path:
    """Move the finished Vivavoce model folder ``folder`` (on the same disk as the store, such as a
    training run in the user's data folder) into the store as ``name``: one rename, so the model
    list never sees it half there."""
    check_name(name, "name")
    if not is_model_folder(folder):
        raise ModelError(f"{folder}: not a finished model folder ({CONFIG} is missing)")
    target = models_dir() / name
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(folder, target)
    except OSError as error:
        raise ModelError(f"{folder}: could not be moved to {target} ({error.strerror or error})") from None
    return target


def remove_leftovers(name: str) -> None:
    """Delete what an import or training run of ``name`` that was killed mid-write left in the store
    (its hidden staging folders; the model list never shows them)."""
    for folder in models_dir().glob(f".{name}.*.partial"):
        shutil.rmtree(folder, ignore_errors=True)


def folder_size(path: Path) -> int:
    """Bytes of the files in a model folder (weights, language model, card), not of its training state."""
    return sum(entry.stat().st_size for entry in Path(path).iterdir() if entry.is_file())


def remove_model(name: str) -> Path:
    for entry in list_models():
        if entry.name == name:
            if entry.bundled:
                raise ModelError(f"{name}: a bundled model cannot be removed")
            shutil.rmtree(entry.path)
            return entry.path
    raise ModelError(f"{name}: no such installed model")


def parameter_count(loaded: LoadedModel) -> int:
    return sum(p.numel() for p in loaded.model.parameters())


def model_card(loaded: LoadedModel, origin: str, upstream_card: str = "") -> str:
    """A model card for an imported model: where it came from (``origin``) and what it is, then its
    authors' card."""
    config, arch = loaded.config, loaded.config.architecture
    vocab = config.vocabulary
    lines = [
        f"# {config.name}", "",
        f"Imported on {datetime.date.today().isoformat()} from {origin}.", "",
        f"- kind: {config.kind}",
        f"- parameters: {parameter_count(loaded) / 1e6:.1f} M",
        f"- Transformer: {arch.num_layers} blocks, {arch.hidden_size} wide, {arch.num_heads} heads, "
        f"{'pre-norm (stable layer norm)' if arch.pre_norm else 'post-norm'}",
        f"- feature encoder: {len(arch.conv_channels)} convolutions, {arch.feature_norm} norm",
        f"- per-utterance input normalisation: {'yes' if config.normalize_input else 'no'}",
    ]
    if vocab is not None:
        lines.append(f"- vocabulary: {len(vocab)} tokens, text case {config.text.case}")
    lines += ["", "Training data and error rates: see the model's original card"
              + (" below" if upstream_card.strip() else "") + "; Vivavoce has not measured this model."]
    if upstream_card.strip():
        lines += ["", "## The original model card", "", _without_front_matter(upstream_card).strip()]
    return "\n".join(lines) + "\n"


def _without_front_matter(card: str) -> str:
    """A Hub model card without its YAML header (the licence and tags, between two --- lines)."""
    match = re.match(r"^---\s*\n.*?\n---\s*\n", card, re.DOTALL)
    if not match:
        return card
    front = match.group(0)
    licence = re.search(r"^license:\s*(\S.*)$", front, re.MULTILINE)
    rest = card[match.end():]
    return (f"Licence (from its header): {licence.group(1).strip()}\n\n" if licence else "") + rest
