"""What fine-tuning on one person's recordings buys: a model adapted to a voice it never heard.

    apt-get download asterisk-core-sounds-en-g722 asterisk-core-sounds-en
    for d in asterisk-core-sounds-en*.deb; do dpkg-deb -x "$d" SOUNDS; done
    .venv/bin/pip install av      # decodes G.722; this script only
    .venv/bin/python benchmarks/voice_adaptation.py --sounds SOUNDS [--model default] [--minutes 20]
        [--learning-rate R] [--work DIR] [--device cpu|cuda] [--mix CORPUS [--mix-minutes M]]

The default model's card, and the README, tell a user who wants better captions
to fine-tune a model on their own recordings; this measures what that gives.
The voice is Allison Smith's, in the Asterisk telephone prompts: Debian ships
all 568 (16 kHz G.722) with their script. A quarter of them, 63, are in
benchmarks/real_speech, for evaluation only. This script takes the others that
can be written down unambiguously (the rules of benchmarks/real_speech/SOURCES.md;
none whose text equals a held-out prompt's), and fine-tunes ``--model`` on them
with exactly what the training window runs, `vivavoce train finetune`'s defaults
with ``--max-minutes``. Then it scores the model before and after, with and
without its language model, on the 63 held-out prompts of that voice and on
the other real voices of benchmarks/real_speech, and prints the ratios (after /
before: below 1 means the adaptation helped). ``--work`` keeps the prepared
recordings, the run (its events file shows its progress) and the adapted model.

``--mix`` adds recordings of a synthetic corpus (`vivavoce train synth`) to the
voice's, as many minutes as the voice's unless ``--mix-minutes`` says otherwise:
rehearsing the voices the model learned from while it learns the new one, to
see whether that keeps what the adaptation costs on other voices.
"""

import argparse
import csv
import gzip
import random
import re
import shlex
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile

from engine.device import resolve_device
from training.config import FinetuneConfig
from training.evaluate import evaluate
from training.finetune import finetune
from training.metrics import character_error_rate
from training.synth.corpus import MANIFEST

REAL = Path(__file__).resolve().parent / "real_speech"
VOICE = "usr/share/asterisk/sounds/en_US_f_Allison"
SCRIPT = "usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz"
DIGITS = dict(zip("123456789", "one two three four five six seven eight nine".split()))


def spoken(text: str) -> str | None:
    """The prompt's words as read (lower case, words only), or None when they cannot be told for sure:
    stage directions, "0" (zero or oh), numbers, #, *, acronyms, web addresses."""
    if re.search(r"[\[\]#*@/]|\d\d|0|\b[A-Z]{2,}\b|www|http", text):
        return None
    text = re.sub(r"\b([1-9])\b", lambda m: DIGITS[m[1]], text.replace("...", " "))
    if re.search(r"\d", text):
        return None
    text = re.sub(r"\bre-", "re", text.lower()).replace("-", " ")
    text = re.sub(r"[^a-z' ]", " ", text)
    text = re.sub(r"(?<![a-z])'|'(?![a-z])", " ", text)
    return " ".join(text.split()) or None


def prepare(sounds: Path, folder: Path) -> tuple[int, float]:
    """Write the adaptation recordings (16 kHz FLAC) with their transcripts into ``folder``;
    returns (recordings, seconds)."""
    try:
        import av
    except ImportError:
        sys.exit("voice_adaptation.py: decoding G.722 needs PyAV: .venv/bin/pip install av")
    script_file = sounds / SCRIPT
    if not script_file.is_file():
        sys.exit(f"voice_adaptation.py: {script_file}: no such file (unpack asterisk-core-sounds-en into --sounds)")
    held_out = {path.stem.removeprefix("asterisk_") for path in REAL.glob("asterisk_*.flac")}
    held_out_texts = {(REAL / f"asterisk_{name}.txt").read_text().strip() for name in held_out}
    folder.mkdir(parents=True, exist_ok=True)
    count, seconds = 0, 0.0
    for line in gzip.open(script_file, "rt", encoding="utf-8", errors="replace"):
        name, colon, text = line.partition(":")
        if not colon or line.startswith(";") or "/" in name or name in held_out:
            continue
        words = spoken(text.strip())
        audio = sounds / VOICE / f"{name.strip()}.g722"
        if not words or words in held_out_texts or not audio.is_file():
            continue
        with av.open(str(audio)) as container:
            stream = container.streams.audio[0]
            samples = np.concatenate([frame.to_ndarray().reshape(-1) for frame in container.decode(stream)])
        soundfile.write(folder / f"{name.strip()}.flac", samples.astype(np.float32) / 32768, stream.rate)
        (folder / f"{name.strip()}.txt").write_text(words + "\n", encoding="utf-8")
        count += 1
        seconds += len(samples) / stream.rate
    return count, seconds


def mix_in(corpus: Path, folder: Path, seconds: float) -> tuple[int, float]:
    """Link about ``seconds`` of ``corpus``'s recordings (chosen at random, seed 0; none over 16 s,
    fine-tuning's default longest) into ``folder``, each with its transcript beside it."""
    with open(corpus / MANIFEST, encoding="utf-8", newline="") as file:
        rows = [row for row in csv.DictReader(file, delimiter="\t", quoting=csv.QUOTE_NONE)
                if float(row["seconds"]) <= 16]
    random.Random(0).shuffle(rows)
    folder.mkdir(parents=True, exist_ok=True)
    count, total = 0, 0.0
    for row in rows:
        if total >= seconds:
            break
        source = (corpus / row["path"]).resolve()
        (folder / f"{count:05d}{source.suffix}").symlink_to(source)
        (folder / f"{count:05d}.txt").write_text(row["text"] + "\n", encoding="utf-8")
        count += 1
        total += float(row["seconds"])
    return count, total


def scores(model: str, device, language_model: bool) -> tuple[float, float]:
    """CER on the held-out prompts of the voice, and on the other real voices."""
    result = evaluate(model, str(REAL), device, by="source", language_model=language_model)
    voice = result.groups["asterisk"]
    others = [s for s in result.utterances if not s.path.name.startswith("asterisk_")]
    return voice[1], character_error_rate([s.reference for s in others], [s.hypothesis for s in others])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sounds", required=True, help="where the two Debian packages were unpacked")
    parser.add_argument("--model", default="default", help="the recogniser to adapt")
    parser.add_argument("--minutes", type=float, default=20.0, help="training time (the training window's field)")
    parser.add_argument("--learning-rate", type=float, default=FinetuneConfig.learning_rate,
                        help="peak learning rate (default: fine-tuning's)")
    parser.add_argument("--work", help="where to keep the recordings, the run and the adapted model")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--mix", help="a synthetic corpus to mix into the voice's recordings")
    parser.add_argument("--mix-minutes", type=float, help="minutes of --mix to add (default: the voice's)")
    args = parser.parse_args()
    device = resolve_device(args.device)

    with tempfile.TemporaryDirectory() as scratch:
        work = Path(args.work or scratch)
        count, seconds = prepare(Path(args.sounds), work / "voice")
        print(f"adaptation data: {count} prompts, {seconds / 60:.1f} min of one voice; "
              f"{args.minutes:g} min of training on {device.type}", flush=True)
        mixed = ""
        if args.mix:
            minutes = seconds / 60 if args.mix_minutes is None else args.mix_minutes
            added, added_seconds = mix_in(Path(args.mix), work / "voice" / "synthetic", 60 * minutes)
            mixed = f" and {added_seconds / 60:.1f} min of {Path(args.mix).name} mixed in"
            print(f"mixed in: {added} recordings, {added_seconds / 60:.1f} min, of {args.mix}", flush=True)
        adapted = work / "adapted"
        config = FinetuneConfig(data=str(work / "voice"), init=args.model, out=str(adapted), device=args.device,
                                max_minutes=args.minutes, learning_rate=args.learning_rate,
                                events=str(work / "adapted.events"))
        outcome, _ = finetune(config, resume=False, command=shlex.join(sys.argv))
        rows = {}
        for decoding, language_model in (("language model", True), ("greedy", False)):
            for name, model in (("before", args.model), ("after", str(adapted))):
                rows[decoding, name] = scores(model, device, language_model)

    print(f"\nCER on benchmarks/real_speech, {args.model} before and after {config.max_minutes:g} min of "
          f"fine-tuning (peak learning rate {config.learning_rate:g}) on {seconds / 60:.1f} min of the "
          f"Asterisk voice{mixed} ({outcome})")
    print(f"{'decoding':<16}{'':<8}{'that voice, 63 new prompts':>28}{'other real voices':>20}")
    for decoding in ("language model", "greedy"):
        before, after = rows[decoding, "before"], rows[decoding, "after"]
        print(f"{decoding:<16}{'before':<8}" + "".join(f"{100 * v:>{w}.1f}%" for v, w in zip(before, (27, 19))))
        print(f"{'':<16}{'after':<8}" + "".join(f"{100 * v:>{w}.1f}%" for v, w in zip(after, (27, 19))))
        print(f"{'':<16}{'ratio':<8}" + "".join(f"{a / b if b else float('inf'):>{w}.2f}x"
                                                for a, b, w in zip(after, before, (27, 19))))


if __name__ == "__main__":
    main()
