"""Training checkpoints: everything a run needs to continue exactly where it stopped, written atomically.

A checkpoint holds plain tensors, numbers and strings only, and is read back
with ``torch.load(weights_only=True)``: loading one never runs code.
"""

import os
from pathlib import Path

import torch

from engine.errors import VivavoceError

NAME = "checkpoint.pt"


def save_checkpoint(folder: Path, state: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / NAME
    partial = folder / (NAME + ".partial")
    try:
        with open(partial, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise VivavoceError(f"{path}: the checkpoint could not be written ({error.strerror or error})") from None
    return path


def load_checkpoint(folder: Path) -> dict:
    path = folder / NAME
    if not path.is_file():
        raise VivavoceError(f"{path}: no checkpoint to resume from (start without --resume)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError) as error:
        raise VivavoceError(f"{path}: the checkpoint cannot be read ({str(error).splitlines()[0]})") from None
