"""`vivavoce train ...`: the training commands (also `python -m training ...`, as torchrun starts them)."""

import argparse
import json
import shlex
import sys
import time

from engine.errors import VivavoceError

from .config import FinetuneConfig, PretrainConfig, add_arguments, resolve, to_toml

INTERRUPTED = 130


def add_commands(commands, parser_class=argparse.ArgumentParser) -> None:
    """Add the training commands to ``commands`` (an argparse sub-parsers object)."""
    inspect = commands.add_parser("inspect-data", help="what a folder of recordings holds, and what is wrong with it")
    inspect.add_argument("dir")
    inspect.set_defaults(run=_inspect)

    pretrain = commands.add_parser("pretrain", help="self-supervised pretraining on recordings (no transcripts)")
    add_arguments(pretrain, PretrainConfig)
    pretrain.set_defaults(run=_pretrain)

    finetune = commands.add_parser("finetune", help="CTC fine-tuning on recordings with transcripts")
    add_arguments(finetune, FinetuneConfig)
    finetune.set_defaults(run=_finetune)

    synth = commands.add_parser("synth", help="a corpus of synthetic speech for training")
    synth.add_argument("--out", required=True, help="the corpus folder")
    synth.add_argument("--hours", type=float, required=True, help="hours of audio the corpus should hold")
    synth.add_argument("--engines", default="espeak,flite,festival",
                       help="comma-separated: espeak, flite, festival, piper, pico, rhvoice (those installed are used)")
    synth.add_argument("--language", default="en")
    synth.add_argument("--phonemes", action="store_true", help="espeak-ng IPA transcripts instead of words")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--workers", type=int, default=0, help="processes (default: every core)")
    synth.add_argument("--resume", action="store_true", help="finish or extend the corpus in --out")
    synth.add_argument("--test-set", choices=("clean", "noisy"), default="",
                       help="instead of training speech: the held-out sentences read once by every engine, "
                            "clean or with pink noise at 15 dB SNR (--hours caps it)")
    synth.set_defaults(run=_synth)

    lm = commands.add_parser("lm", help="a language model for a model's beam search, from text")
    lm.add_argument("--model", required=True, help="the model folder or name to add it to")
    lm.add_argument("--out", required=True, help="where the model with its language model goes (may be --model)")
    lm.add_argument("--text", nargs="+", default=[], metavar="FILE",
                    help="UTF-8 text, a sentence a line (default: the sentences `train synth` reads, "
                         "without the held-out test sentences)")
    lm.add_argument("--order", type=int, default=6, help="n of the character n-grams (1 to 6)")
    lm.add_argument("--weight", type=float, default=1.0, help="the language model's weight in the search")
    lm.add_argument("--tune", default="", metavar="DIR",
                    help="recordings with transcripts on which to choose the weight with the lowest CER")
    lm.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    lm.set_defaults(run=_lm)

    evaluate = commands.add_parser("evaluate", help="a model's CER and WER on recordings with transcripts")
    evaluate.add_argument("--model", required=True)
    evaluate.add_argument("--data", required=True)
    evaluate.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    evaluate.add_argument("--worst", type=int, default=10, help="how many of the worst recordings to list")
    evaluate.add_argument("--greedy", action="store_true",
                          help="the most likely character at each frame, without the model's language model")
    evaluate.add_argument("--by", choices=("engine", "source"),
                          help="also score each synthesiser (a synth corpus) or each file-name prefix apart")
    evaluate.set_defaults(run=_evaluate)


def _inspect(args) -> int:
    from tqdm import tqdm

    from .data import report, scan

    with tqdm(unit="file", desc="reading", file=sys.stderr, disable=None) as bar:
        def progress(done, total):
            bar.total = total
            bar.update(done - bar.n)

        corpus = scan(args.dir, progress)
    print(report(corpus))
    return 0


def _command() -> str:
    """The command line that started this run, for the model card."""
    argv = sys.argv[sys.argv.index("train") + 1:] if "train" in sys.argv else sys.argv[1:]
    return "vivavoce train " + shlex.join(argv)


def _finish(outcome: str, out, step_hint: str) -> int:
    if outcome == "interrupted":
        print(f"stopped; the run is saved in {out} and continues with the same command and --resume",
              file=sys.stderr)
        return INTERRUPTED
    print(f"{step_hint}: {out}")
    return 0


def _run_stage(stage, config, resume: bool, done: str) -> int:
    """Run a training stage; a user error also goes to the events file, for the GUI to show."""
    print(to_toml(config), end="")
    try:
        outcome, out = stage(config, resume, _command())
    except VivavoceError as error:
        if config.events:
            with open(config.events, "a", encoding="utf-8") as f:
                f.write(json.dumps({"event": "error", "time": round(time.time(), 3), "message": str(error)}) + "\n")
        raise
    return _finish(outcome, out, done)


def _pretrain(args) -> int:
    from .pretrain import pretrain

    return _run_stage(pretrain, resolve(PretrainConfig, args, required=("data", "out")), args.resume,
                      "pretrained model")


def _finetune(args) -> int:
    from .finetune import finetune

    return _run_stage(finetune, resolve(FinetuneConfig, args, required=("data", "init", "out")), args.resume,
                      "fine-tuned model")


def _evaluate(args) -> int:
    from tqdm import tqdm

    from engine.device import resolve_device

    from .evaluate import evaluate, report

    with tqdm(unit="file", desc="evaluating", file=sys.stderr, disable=None) as bar:
        def progress(done, total):
            bar.total = total
            bar.update(done - bar.n)

        result = evaluate(args.model, args.data, resolve_device(args.device), progress, args.by,
                          language_model=not args.greedy)
    print(report(result, args.worst))
    return 0


def _lm(args) -> int:
    from tqdm import tqdm

    from .lm import train_language_model

    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in bars:
            for bar in bars.values():  # the stages before are done
                bar.update(bar.total - bar.n)
                bar.close()
            bars[stage] = tqdm(total=total, desc=stage, file=sys.stderr, disable=None)
        bars[stage].update(done - bars[stage].n)

    try:
        report = train_language_model(args.model, args.out, args.text, args.order, args.weight, args.tune,
                                      args.device, progress)
    finally:
        for bar in bars.values():
            bar.close()
    for weight, cer, wer in report.tuning:
        print(f"  weight {weight:<5g} CER {100 * cer:.1f}%  WER {100 * wer:.1f}%")
    print(f"{args.out}: a {args.order}-gram language model of {report.sentences} sentences "
          f"({', '.join(str(n) for n in report.ngrams)} n-grams), weight {report.weight:g}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m training COMMAND ...`: the same commands, for torchrun and clusters."""
    parser = argparse.ArgumentParser(prog="python -m training")
    add_commands(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except VivavoceError as error:
        print(f"vivavoce: error: {error}", file=sys.stderr)
        return 2


def _synth(args) -> int:
    from tqdm import tqdm

    from .synth.corpus import SynthConfig, synthesise

    config = SynthConfig(out=args.out, hours=args.hours, engines=tuple(args.engines.split(",")),
                         language=args.language, phonemes=args.phonemes, seed=args.seed, workers=args.workers,
                         test_set=args.test_set)
    with tqdm(total=round(config.hours * 3600), unit="s", desc="speech", file=sys.stderr, disable=None) as bar:
        def progress(done, total):
            bar.update(round(done) - bar.n)

        rows, seconds, failures = synthesise(config, args.resume,
                                             lambda line: bar.write(f"vivavoce: {line}", file=sys.stderr),
                                             progress)
    skipped = f", {failures} utterances skipped" if failures else ""
    print(f"{args.out}: {rows} utterances, {seconds / 3600:.2f} hours{skipped}")
    return 0
