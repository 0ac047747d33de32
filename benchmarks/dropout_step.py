"""What dropout costs a CPU training step: the same model, batch and update with and without it.

    .venv/bin/python benchmarks/dropout_step.py [--preset compact] [--batch-seconds 30] [--repeats 5]

A full fine-tuning step (forward, CTC loss, backward, AdamW) of a model of --preset on
random audio cut into 3.75 s utterances, once with the preset's dropout (0.1 on the
Transformer's hidden states and attention) and once with `--dropout 0`, steps alternating.
Prints the median step times and the ratio.
"""

import argparse
import statistics
import time
from dataclasses import replace

import torch
import torch.nn.functional as F

from engine.model import Wav2Vec2
from engine.presets import preset


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="compact")
    parser.add_argument("--batch-seconds", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.manual_seed(0)
    base = preset(args.preset, vocab_size=29, quantizer=False)
    models = {"dropout 0.1": base, "dropout 0": replace(base, dropout=0.0, attention_dropout=0.0)}
    utterances = int(args.batch_seconds / 3.75)
    audio = torch.randn(utterances, 60000)
    lengths = torch.full((utterances,), 60000)
    targets = torch.randint(1, 29, (utterances, 40))
    runs = {}
    for name, arch in models.items():
        model = Wav2Vec2(arch).train()
        runs[name] = (model, torch.optim.AdamW(model.parameters(), lr=1e-4))
    times = {name: [] for name in runs}

    def step(model, optimizer):
        logits = model.ctc_head(model(audio, lengths).context)
        frames = torch.full((utterances,), logits.shape[1])
        loss = F.ctc_loss(logits.log_softmax(-1).transpose(0, 1), targets, frames,
                          torch.full((utterances,), 40), blank=0)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for repeat in range(args.repeats + 1):  # the first round warms up
        for name, (model, optimizer) in runs.items():
            began = time.perf_counter()
            step(model, optimizer)
            if repeat:
                times[name].append(time.perf_counter() - began)
    print(f"{args.preset}, {args.batch_seconds:g} s of audio per step, {torch.get_num_threads()} threads")
    for name, values in times.items():
        print(f"{name:>12}: {statistics.median(values):.3f} s per step")
    ratio = statistics.median(times["dropout 0.1"]) / statistics.median(times["dropout 0"])
    print(f"without dropout: {ratio:.2f}x faster")


if __name__ == "__main__":
    main()
