"""Does self-supervised pretraining make a little labelled speech go far? Pretrained vs random, same budget.

    .venv/bin/python benchmarks/low_resource.py --pretrained MODEL --corpus DIR --test DIR
        [--real DIR] [--minutes 10] [--steps 600] [--out DIR] [--events DIR] [--device cpu|cuda]

The wav2vec 2.0 paper's central claim: a model pretrained without transcripts,
then fine-tuned on ten minutes of transcribed speech, beats one trained on
those ten minutes alone. This script draws ``--minutes`` of labelled
utterances from ``--corpus`` (seeded; the same draw every run), and fine-tunes,
with `vivavoce train finetune`'s own code and the same data, steps and
settings:

    (a) the pretrained model ``--pretrained``;
    (b) the same architecture with fresh random weights (PyTorch's and fairseq's
        initialisation, as `vivavoce train pretrain` would start it).

Then it scores both, with `vivavoce train evaluate`'s code, on ``--test``
(held-out synthetic speech, e.g. a `vivavoce train synth --test-set clean`
folder) and, if given, ``--real`` (recordings of real people), and prints the
character error rates side by side with their ratio (random / pretrained: above
1 means pretraining helped). The two fine-tuned models are kept in ``--out``;
``--events DIR`` writes each run's progress as JSON lines to ``DIR/pretrained.events``
and ``DIR/random.events`` (the progress bars show only on a terminal, so this is how to
follow a run started with ``nohup``).
"""

import argparse
import os
import shlex
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from engine.device import resolve_device
from engine.model import Wav2Vec2
from engine.modelfolder import ModelConfig, save_model_folder
from engine.store import load_model
from training.config import FinetuneConfig
from training.data import scan
from training.evaluate import evaluate
from training.finetune import finetune


def labelled_subset(corpus: str, minutes: float, seed: int, folder: Path) -> float:
    """Links to ``minutes`` of labelled recordings of ``corpus`` (drawn by ``seed``) and their
    transcripts in ``folder``; returns the seconds drawn."""
    utterances = scan(corpus).labelled
    order = np.random.default_rng(seed).permutation(len(utterances))
    total = 0.0
    folder.mkdir(parents=True)
    for n, i in enumerate(order):
        if total >= 60 * minutes:
            break
        utterance = utterances[i]
        link = folder / f"{n:05d}{utterance.path.suffix}"
        os.symlink(utterance.path, link)
        link.with_suffix(".txt").write_text(utterance.text + "\n", encoding="utf-8")
        total += utterance.duration
    return total


def random_twin(pretrained: str, folder: Path) -> None:
    """A model folder of the pretrained model's architecture with fresh random weights."""
    loaded = load_model(pretrained)
    torch.manual_seed(0)
    model = Wav2Vec2(loaded.config.architecture)
    config = ModelConfig("pretrained", loaded.config.architecture, name="random", language="",
                         normalize_input=loaded.config.normalize_input, source="random initialisation")
    save_model_folder(model, config, folder, "# random\n\nThe pretrained model's architecture, random weights.\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pretrained", required=True, help="a pretrained model folder")
    parser.add_argument("--corpus", required=True, help="labelled recordings to draw the fine-tuning data from")
    parser.add_argument("--test", required=True, help="held-out recordings with transcripts")
    parser.add_argument("--real", help="recordings of real people with transcripts")
    parser.add_argument("--minutes", type=float, default=10.0, help="labelled audio to fine-tune on")
    parser.add_argument("--steps", type=int, default=600, help="fine-tuning updates for each model")
    parser.add_argument("--batch-seconds", type=float, default=30.0)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="where to keep the two fine-tuned models (default: a temporary folder)")
    parser.add_argument("--events", help="a folder for each run's progress as JSON lines (NAME.events)")
    args = parser.parse_args()
    device = resolve_device(args.device)

    with tempfile.TemporaryDirectory() as scratch:
        out = Path(args.out) if args.out else Path(scratch) / "models"
        data = Path(scratch) / "labelled"
        seconds = labelled_subset(args.corpus, args.minutes, args.seed, data)
        random_twin(args.pretrained, Path(scratch) / "random")
        starts = {"pretrained": args.pretrained, "random": str(Path(scratch) / "random")}
        print(f"fine-tuning data: {seconds / 60:.1f} min of {args.corpus}; {args.steps} updates each "
              f"on {device.type}")
        rows = []
        if args.events:
            Path(args.events).mkdir(parents=True, exist_ok=True)
        for name, init in starts.items():
            config = FinetuneConfig(data=str(data), init=init, out=str(out / name), device=args.device,
                                    seed=args.seed, max_steps=args.steps, batch_seconds=args.batch_seconds,
                                    learning_rate=args.learning_rate, train_feature_encoder=True,
                                    freeze_transformer_steps=0, stage_fractions=(0.1, 0.4, 0.5),
                                    mask_prob=0.05, channel_mask_prob=0.0, valid_fraction=0.0, workers=1,
                                    events=str(Path(args.events) / f"{name}.events") if args.events else "")
            print(f"\n({'a' if name == 'pretrained' else 'b'}) fine-tuning the {name} model", flush=True)
            finetune(config, resume=False, command=shlex.join(sys.argv))
            scores = [evaluate(str(out / name), args.test, device).cer]
            if args.real:
                scores.append(evaluate(str(out / name), args.real, device).cer)
            rows.append((name, scores))

    columns = ["held-out synthetic"] + (["real people"] if args.real else [])
    print(f"\nCER after fine-tuning on {seconds / 60:.1f} min, {args.steps} updates ({device.type})")
    print(f"{'start':<12}" + "".join(f"{c:>20}" for c in columns))
    for name, scores in rows:
        print(f"{name:<12}" + "".join(f"{100 * s:>19.1f}%" for s in scores))
    ratios = [r / p if p else float("inf") for p, r in zip(rows[0][1], rows[1][1])]
    print(f"{'random/pre':<12}" + "".join(f"{r:>19.2f}x" for r in ratios))


if __name__ == "__main__":
    main()
