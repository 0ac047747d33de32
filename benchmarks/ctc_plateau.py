"""How soon does a CTC model trained from scratch leave the blank plateau? Loss per character as it trains.

    .venv/bin/python benchmarks/ctc_plateau.py --corpus DIR [--preset compact] [--set feature_norm=group ...]
        [--learning-rate 2e-3] [--max-seconds 4] [--batch-seconds 16] [--steps 1000] [--clean]

Trains the preset (with ``--set name=value`` architecture overrides) from random
weights on the corpus's labelled utterances up to ``--max-seconds``, in
length-grouped batches of ``--batch-seconds`` (``--clean``: only utterances a
`train synth` manifest records without noise or reverberation), AdamW with a
100-update warm-up, and every 25 updates prints the CTC loss per target
character over those updates, the mean blank probability and a greedy reading
of one utterance. About 3 nats per character is the plateau: letters guessed by
their frequency, nothing read from the sound. The README's comparison of
feature-encoder norms and model sizes was measured with this script.
"""

import argparse
import csv
import json
import time

import numpy as np
import torch
import torch.nn.functional as F

from engine.model import Architecture, Wav2Vec2
from engine.presets import PRESETS, preset
from engine.text import TextRules
from training.data import AudioDataset, collate, drop_long, length_batches, scan
from training.finetune import build_vocabulary, encode


def override(arch: Architecture, text: str) -> dict:
    """``name=value`` as a typed architecture override (``conv_channels=64`` widens every layer)."""
    name, value = text.split("=", 1)
    current = getattr(arch, name)
    if isinstance(current, tuple):
        return {name: (int(value),) * len(current)}
    if isinstance(current, bool):
        return {name: value.lower() in ("1", "true", "yes")}
    return {name: type(current)(value)}


def clean_paths(corpus: str) -> set[str]:
    with open(f"{corpus}/manifest.tsv", newline="", encoding="utf-8") as f:
        rows = csv.DictReader(f, delimiter="\t")
        return {row["path"] for row in rows
                if json.loads(row["augmentation"])["noise"] is None
                and json.loads(row["augmentation"])["reverb_rt60"] is None}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--preset", default="compact", choices=sorted(PRESETS))
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--max-seconds", type=float, default=4.0)
    parser.add_argument("--batch-seconds", type=float, default=16.0)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--clean", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)

    corpus = scan(args.corpus)
    utterances, _ = drop_long(corpus.labelled, args.max_seconds)
    if args.clean:
        keep = clean_paths(args.corpus)
        utterances = [u for u in utterances if u.path.relative_to(corpus.folder).as_posix() in keep]
    rules = TextRules("lower")
    texts = [rules.apply(u.text) for u in utterances]
    vocabulary = build_vocabulary(texts)
    targets = [encode(t, vocabulary) for t in texts]
    arch = preset(args.preset, quantizer=False, vocab_size=len(vocabulary.tokens))
    for text in args.set:
        arch = Architecture.from_dict({**arch.to_dict(), **override(arch, text)})
    model = Wav2Vec2(arch)
    print(f"{len(utterances)} utterances, {sum(u.duration for u in utterances) / 3600:.2f} h; "
          f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters")
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate, weight_decay=0.01, betas=(0.9, 0.98))
    dataset = AudioDataset(utterances)
    step, epoch, window, started = 0, 0, [], time.monotonic()
    while step < args.steps:
        for batch in length_batches([u.duration for u in utterances], args.batch_seconds, args.seed, epoch):
            waveforms, lengths, indices = collate([dataset[i] for i in batch])
            frames = model.feature_encoder.output_lengths(lengths)
            log_probs = model.ctc_logits(waveforms, lengths).float().log_softmax(-1)
            wanted = [torch.tensor(targets[i]) for i in indices]
            wanted_lengths = torch.tensor([len(t) for t in wanted])
            loss = F.ctc_loss(log_probs.transpose(0, 1), torch.cat(wanted), frames, wanted_lengths,
                              blank=vocabulary.blank, reduction="sum", zero_infinity=True)
            for group in optimizer.param_groups:
                group["lr"] = args.learning_rate * min(1.0, (step + 1) / 100)
            optimizer.zero_grad()
            (loss / len(batch)).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            optimizer.step()
            step += 1
            valid = torch.arange(log_probs.shape[1])[None] < frames[:, None]
            window.append((loss.item() / wanted_lengths.sum().item(),
                           log_probs[..., vocabulary.blank].exp()[valid].mean().item()))
            if step % 25 == 0 or step == args.steps:
                per_char, blank = np.mean(window, axis=0)
                window = []
                ids = log_probs[0, : frames[0]].argmax(-1).tolist()
                read = "".join(vocabulary.tokens[k] for j, k in enumerate(ids)
                               if k != vocabulary.blank and (j == 0 or k != ids[j - 1]))
                print(f"update {step}: {per_char:.3f} nats/char, blank {blank:.3f}, "
                      f"{time.monotonic() - started:.0f} s | {read.replace('|', ' ')[:50]!r} <- "
                      f"{texts[indices[0]][:50]!r}", flush=True)
            if step >= args.steps:
                break
        epoch += 1


if __name__ == "__main__":
    main()
