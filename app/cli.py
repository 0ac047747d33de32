"""The `vivavoce` command: one entry point, with subcommands.

Every command calls the same engine functions the GUI uses. A user error
prints one line on stderr and exits with status 2; programming errors stay
tracebacks.
"""

import argparse
import json
import math
import os
import shutil
import sys
from pathlib import Path

from engine.errors import VivavoceError
from training.cli import add_commands as add_training_commands

EXIT_USER_ERROR = 2


def _fail(message: str) -> None:
    print(f"vivavoce: error: {message}", file=sys.stderr)


def _warn(message: str) -> None:
    print(f"vivavoce: warning: {message}", file=sys.stderr)


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        _fail(message)
        raise SystemExit(EXIT_USER_ERROR)


def _gui(args) -> int:
    try:
        from app import gui
    except ImportError as error:
        raise VivavoceError(f"the desktop app needs Qt, which cannot be loaded ({error}); "
                            "on Linux install libegl1 and libxkbcommon0, or use `vivavoce caption`") from None
    return gui.run(model=args.model, compute=args.device, start=args.start)


def _transcribe(args) -> int:
    from tqdm import tqdm

    from engine.audio import AudioFile
    from engine.device import resolve_device
    from engine.formats import atomic_write_text, render
    from engine.recognizer import Recognizer
    from engine.store import load_model

    output = Path(args.output) if args.output else None
    if output is not None and len(args.files) > 1 and not output.is_dir():
        raise VivavoceError(f"--output {output}: with several files, give an existing folder")
    device = resolve_device(args.device)
    loaded = load_model(args.model)
    recognizer = Recognizer(loaded, device, on_warning=_warn)
    model_name = loaded.config.name or str(loaded.path)
    status = 0
    for name in args.files:
        try:
            with AudioFile(name) as audio:
                bar = tqdm(total=round(audio.duration, 1), unit="s", desc=Path(name).name,
                           disable=None if audio.duration > 60 else True, file=sys.stderr)
                with bar:
                    transcript = recognizer.transcribe(
                        audio, progress=lambda done, total: bar.update(round(done, 1) - bar.n))
        except VivavoceError as error:
            _fail(str(error))
            status = EXIT_USER_ERROR
            continue
        text = render(transcript, args.format, file=name, model=model_name)
        if output is None:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
            sys.stdout.flush()
        else:
            target = output / f"{Path(name).stem}.{args.format}" if output.is_dir() else output
            atomic_write_text(target, text if text.endswith("\n") else text + "\n")
    return status


def _pronounce(args) -> int:
    from engine.audio import load_audio
    from engine.device import resolve_device
    from engine.pronounce import PronunciationScorer, render_table
    from engine.recognizer import Recognizer
    from engine.store import load_phoneme_model

    if (args.file is None) == (not args.mic):
        raise VivavoceError("give a recording to score (FILE) or --mic to record one, not both")
    if not args.text.strip():
        raise VivavoceError("--text: give the sentence that was read")
    loaded = load_phoneme_model(args.model)
    scorer = PronunciationScorer(Recognizer(loaded, resolve_device(args.device), on_warning=_warn), args.accent)
    if args.mic:
        from engine.capture import MicrophoneSource, record_utterance

        print("Getting the microphone ready...", file=sys.stderr, flush=True)
        with MicrophoneSource(args.input_device) as source:
            samples = record_utterance(source, on_ready=lambda: print(
                f"Say: {args.text}\n(recording stops after a pause)", file=sys.stderr, flush=True))
        name = "the microphone"
    else:
        samples, name = load_audio(args.file), args.file
    result = scorer.assess(samples, args.text, file=name if args.file else "")
    for warning in result.warnings:
        _warn(warning)
    if args.format == "json":
        print(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        print(render_table(result))
    return 0


def _hop(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.05 <= value <= 2.0:
        raise argparse.ArgumentTypeError(f"{text}: give seconds from 0.05 to 2")
    return value


def _caption(args) -> int:
    import signal
    import threading

    from engine.threads import wait_passively

    wait_passively()  # before torch loads
    from engine import captioning
    from engine.caption_log import CaptionLog
    from engine.device import resolve_device
    from engine.formats import timestamp
    from engine.recognizer import Recognizer
    from engine.store import load_model
    from engine.stream import StreamingRecognizer

    if args.source == "mic":
        from engine.capture import MicrophoneSource

        source = MicrophoneSource(args.input_device)
    elif args.source == "system":
        from engine.capture import MicrophoneSource

        source = MicrophoneSource.system_sound()
    else:
        source = captioning.FileSource(args.source, realtime=not args.fast)
    recognizer = Recognizer(load_model(args.model), resolve_device(args.device), on_warning=_warn)
    log = CaptionLog(args.save) if args.save else None
    live = sys.stdout.isatty()
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def show(event) -> None:
        if event.kind == "final":
            if log:
                log.add(event.words)
            if event.words:
                line = f"[{timestamp(event.words[0].start, '.')[:-4]}] {event.text}"
                sys.stdout.write(("\r\x1b[K" if live else "") + line + "\n")
        elif live:
            sys.stdout.write("\r\x1b[K" + event.text[-(shutil.get_terminal_size().columns - 1):])
        sys.stdout.flush()

    try:
        captioning.run(source, lambda: StreamingRecognizer(recognizer, hop=args.hop), show, stop.is_set, _warn)
    finally:
        if log:
            log.close()
    return 0


def _models(args) -> int:
    from engine import store

    if args.action == "list":
        entries = store.list_models()
        if not entries:
            print(f"no models installed (the store is {store.models_dir()})")
        for entry in entries:
            where = "bundled" if entry.bundled else str(entry.path)
            print(f"{entry.name:24} {entry.config.kind:10} {entry.config.language or '-':6} {where}")
    elif args.action == "import":
        entry = store.import_model(args.path, args.name)
        print(f"installed {entry.name} ({entry.config.kind}) in {entry.path}")
    elif args.action == "download":
        return _download(args)
    elif args.action == "remove":
        print(f"removed {store.remove_model(args.name)}")
    elif args.action == "info":
        loaded = store.load_model(args.name)
        info = {"name": loaded.config.name, "path": str(loaded.path), "kind": loaded.config.kind,
                "language": loaded.config.language,
                "parameters": store.parameter_count(loaded),
                "vocabulary": list(loaded.config.vocabulary.tokens) if loaded.config.vocabulary else None,
                "language_model": (loaded.config.language_model.to_dict() if loaded.config.language_model
                                   else None),
                "architecture": loaded.config.architecture.to_dict()}
        print(json.dumps(info, indent=2, ensure_ascii=False))
    return 0


def _download(args) -> int:
    import time

    from tqdm import tqdm

    from engine.download import download

    bar = None
    state = {"received": 0, "total": None, "printed": 0.0}

    def progress(amount: int, total: int | None) -> None:
        nonlocal bar
        if args.progress == "json":  # for the app: a line a program reads, four times a second at most
            if total is not None:  # the first call says it
                state["total"] = total
            state["received"] += amount
            now = time.monotonic()
            if now - state["printed"] >= 0.25 or state["received"] == state["total"]:
                state["printed"] = now
                print(json.dumps({"received": state["received"], "total": state["total"]}), flush=True)
            return
        if bar is None:
            bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=args.repo, file=sys.stderr)
        bar.update(amount)

    try:
        entry = download(args.repo, args.name, args.revision, progress)
    except KeyboardInterrupt:
        _fail(f"download of {args.repo} interrupted; run the same command again to resume it")
        return 130
    finally:
        if bar is not None:
            bar.close()
    print(f"installed {entry.name} ({entry.config.kind}) in {entry.path}")
    return 0


def _devices(args) -> int:
    from engine.device import compute_devices

    print("compute devices:")
    for device in compute_devices():
        details = ", ".join(f"{k} {v}" for k, v in device.items() if k not in ("device", "name"))
        print(f"  {device['device']:8} {device['name']} ({details})")
    from engine.capture import describe_devices

    try:
        audio = describe_devices()
    except VivavoceError as error:
        audio = f"  {error}"
    print("audio inputs:")
    print(audio)
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("vivavoce")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    from engine.formats import FORMATS
    from engine.phonemes import ACCENTS

    parser = _Parser(prog="vivavoce", description="Private, on-device live captions with wav2vec 2.0.")
    parser.add_argument("--version", action="version", version=f"vivavoce {_version()}")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")

    gui = commands.add_parser("gui", help="the desktop app (also what `vivavoce` alone opens)")
    gui.add_argument("--model", help="an installed model's name, or a model folder")
    gui.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    gui.add_argument("--start", action="store_true",
                     help="start captions as the window opens, from the source chosen last (the microphone at first)")
    gui.set_defaults(run=_gui)

    transcribe = commands.add_parser("transcribe", help="transcribe audio files to text, SRT, VTT or JSON")
    transcribe.add_argument("files", nargs="+", metavar="FILE",
                            help="WAV, FLAC, OGG or MP3, any sample rate and channel count")
    transcribe.add_argument("--model", help="an installed model's name, or a model folder "
                            "(Vivavoce or Hugging Face layout)")
    transcribe.add_argument("--format", choices=FORMATS, default="txt")
    transcribe.add_argument("--output", help="the output file (a folder when several files are given); "
                            "default: standard output")
    transcribe.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    transcribe.set_defaults(run=_transcribe)

    caption = commands.add_parser("caption", help="live captions in the terminal, from the microphone, "
                                  "the computer's sound or a file")
    caption.add_argument("--source", default="mic", help="mic, system, or an audio file (default: mic)")
    caption.add_argument("--input-device", help="the microphone, by name (a part of it) or number; "
                         "`vivavoce devices` lists them")
    caption.add_argument("--model", help="an installed model's name, or a model folder")
    caption.add_argument("--save", help="also save the final captions as they come: PATH.txt, .srt or .vtt")
    caption.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    caption.add_argument("--fast", action="store_true", help="read a file as fast as possible, "
                         "not at the pace of real time")
    caption.add_argument("--hop", type=_hop, default=0.25, metavar="SECONDS",
                         help="how often the line being spoken is updated (0.05-2; default 0.25; "
                              "0.1 shows words sooner for more CPU)")
    caption.set_defaults(run=_caption)

    pronounce = commands.add_parser("pronounce", help="score the pronunciation of a sentence, word by word and "
                                    "sound by sound")
    pronounce.add_argument("file", nargs="?", metavar="FILE", help="a recording of the sentence being read")
    pronounce.add_argument("--text", required=True, help="the sentence that is read, as written")
    pronounce.add_argument("--mic", action="store_true", help="record it from the microphone instead "
                           "(recording stops after a pause)")
    pronounce.add_argument("--input-device", help="the microphone, by name (a part of it) or number")
    pronounce.add_argument("--accent", default="en-us", choices=sorted(ACCENTS),
                           help="the accent to compare with (default: en-us)")
    pronounce.add_argument("--model", help="a phoneme model (default: the bundled one)")
    pronounce.add_argument("--format", choices=("table", "json"), default="table")
    pronounce.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    pronounce.set_defaults(run=_pronounce)

    models = commands.add_parser("models", help="list, import, download, inspect and remove models")
    actions = models.add_subparsers(dest="action", required=True, parser_class=_Parser, metavar="ACTION")
    actions.add_parser("list", help="the installed and bundled models")
    imports = actions.add_parser("import", help="install a Vivavoce or Hugging Face model folder")
    imports.add_argument("path")
    imports.add_argument("--name", help="the name to install it under (default: the folder's name)")
    fetch = actions.add_parser("download", help="download a public wav2vec 2.0 model from the Hugging Face Hub "
                               "and install it (an interrupted download resumes)")
    fetch.add_argument("repo", help="the model on the Hub, such as facebook/wav2vec2-base-960h")
    fetch.add_argument("--name", help="the name to install it under (default: the part after the /)")
    fetch.add_argument("--revision", default="main", help="a branch, tag or commit (default: main)")
    fetch.add_argument("--progress", choices=("bar", "json"), default="bar",
                       help="a progress bar on the terminal (the default), or JSON lines for a program to read")
    remove = actions.add_parser("remove", help="delete an installed model")
    remove.add_argument("name")
    info = actions.add_parser("info", help="what a model is: kind, size, vocabulary, architecture")
    info.add_argument("name", help="a model name or folder")
    models.set_defaults(run=_models)

    devices = commands.add_parser("devices", help="list compute devices")
    devices.set_defaults(run=_devices)

    train = commands.add_parser("train", help="inspect data, pretrain, fine-tune and evaluate models")
    add_training_commands(train.add_subparsers(dest="stage", required=True, parser_class=_Parser,
                                               metavar="STAGE"), _Parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["gui"])
    try:
        status = args.run(args)
        sys.stdout.flush()  # here, where a reader that has gone away is caught below
        return status
    except VivavoceError as error:
        _fail(str(error))
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        _fail("interrupted")
        return 130
    except BrokenPipeError:
        # The reader stopped early (`vivavoce transcribe talk.wav | head`): end quietly, as Unix
        # tools do, with nothing left to flush into the closed pipe at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
