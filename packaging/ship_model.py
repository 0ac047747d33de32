"""Copy a trained model folder into assets/models/NAME as the app ships it: float16 weights.

    .venv/bin/python packaging/ship_model.py SOURCE_FOLDER assets/models/NAME "how it was made"

The weights are stored in float16 (half the download; recognition computes in float32). The
target's model card (README.md), written by hand, is kept; the folder is replaced whole, by a
rename, so the app never sees half of it. Used by train_default_model.sh and
train_phoneme_model.sh.
"""

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from safetensors import safe_open
from safetensors.torch import save_file


def ship(source: Path, target: Path, made_by: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    with safe_open(str(source / "model.safetensors"), "pt") as weights:
        metadata = weights.metadata()
        state = {name: weights.get_tensor(name) for name in weights.keys()}
    state = {name: t.half() if t.is_floating_point() else t for name, t in state.items()}
    save_file(state, str(staging / "model.safetensors"), metadata=metadata)
    config = json.loads((source / "config.json").read_text(encoding="utf-8"))
    config["name"] = target.name
    config["source"] = made_by
    (staging / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    card = target / "README.md" if (target / "README.md").exists() else source / "README.md"
    shutil.copy(card, staging / "README.md")
    os.chmod(staging, 0o755)
    for file in staging.iterdir():
        os.chmod(file, 0o644)
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)


if __name__ == "__main__":
    ship(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])
