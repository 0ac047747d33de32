"""Transcripts as TXT, SRT, WebVTT and JSON, and writing them safely.

Every rendering but an SRT of no words ends with a newline (JSON is one
object on one line), so outputs for several files can be concatenated.
"""

import json
import os
import secrets
from dataclasses import dataclass

from engine.errors import VivavoceError
from engine.transcript import Transcript, Word

FORMATS = ("txt", "srt", "vtt", "json")


@dataclass
class Cue:
    """One caption: shown from ``start`` to ``end`` (seconds), as ``lines`` of text."""

    start: float
    end: float
    lines: list[str]


def make_cues(
    words: list[Word],
    max_chars: int = 42,
    max_lines: int = 2,
    max_duration: float = 6.0,
    max_gap: float = 1.5,
) -> list[Cue]:
    """Groups words into captions, in order, cutting only between words.

    A cue holds at most ``max_lines`` lines of at most ``max_chars``
    characters, except that a word longer than ``max_chars`` is never split:
    it gets a line of its own. A new cue starts after a pause longer than
    ``max_gap`` seconds, or where the cue would last longer than
    ``max_duration`` seconds (a single word always fits). Lines are balanced:
    as short as the cue's line count allows.
    """
    groups: list[list[Word]] = []
    for word in words:
        group = groups[-1] if groups else []
        fits = (
            group
            and word.start - group[-1].end <= max_gap
            and word.end - group[0].start <= max_duration
            and len(_wrap([w.text for w in group + [word]], max_chars)) <= max_lines
        )
        if fits:
            group.append(word)
        else:
            groups.append([word])
    return [
        Cue(
            start=group[0].start,
            end=max(group[-1].end, group[0].start),
            lines=_balanced([w.text for w in group], max_chars),
        )
        for group in groups
    ]


def _wrap(texts: list[str], width: int) -> list[str]:
    """Fills lines greedily with ``texts`` joined by spaces, each line at most
    ``width`` characters unless it is one longer word."""
    lines: list[str] = []
    for text in texts:
        if lines and len(lines[-1]) + 1 + len(text) <= width:
            lines[-1] += " " + text
        else:
            lines.append(text)
    return lines


def _balanced(texts: list[str], max_chars: int) -> list[str]:
    """The narrowest wrapping of ``texts`` that needs no more lines than wrapping at ``max_chars``."""
    lines = _wrap(texts, max_chars)
    for width in range(max(map(len, texts)), max_chars):
        narrower = _wrap(texts, width)
        if len(narrower) <= len(lines):
            return narrower
    return lines


def to_txt(transcript: Transcript) -> str:
    """The transcript's text on one line."""
    return transcript.text + "\n"


def srt_cue(number: int, cue: Cue) -> str:
    """One SubRip cue: its number, ``HH:MM:SS,mmm --> HH:MM:SS,mmm`` and its lines, then a newline."""
    return f"{number}\n{timestamp(cue.start, ',')} --> {timestamp(cue.end, ',')}\n" + "\n".join(cue.lines) + "\n"


def vtt_cue(cue: Cue) -> str:
    """One WebVTT cue: ``HH:MM:SS.mmm --> HH:MM:SS.mmm`` and its lines, then a newline."""
    return (f"{timestamp(cue.start, '.')} --> {timestamp(cue.end, '.')}\n"
            + "\n".join(_vtt_escape(line) for line in cue.lines) + "\n")


def to_srt(transcript: Transcript) -> str:
    """SubRip subtitles: numbered cues, times as ``HH:MM:SS,mmm``."""
    return "\n".join(srt_cue(number, cue) for number, cue in enumerate(make_cues(transcript.words), start=1))


def to_vtt(transcript: Transcript) -> str:
    """WebVTT subtitles: times as ``HH:MM:SS.mmm``."""
    return "\n".join(["WEBVTT\n", *(vtt_cue(cue) for cue in make_cues(transcript.words))])


def to_json_record(transcript: Transcript, file: str, model: str) -> dict:
    """The transcript as the JSON object of ``vivavoce transcribe --format json``.

    Times are seconds rounded to the millisecond, confidences rounded to 3 decimals.
    """
    return {
        "file": file,
        "model": model,
        "duration": round(transcript.duration, 3),
        "text": transcript.text,
        "words": [
            {
                "word": word.text,
                "start": round(word.start, 3),
                "end": round(word.end, 3),
                "confidence": round(word.confidence, 3),
            }
            for word in transcript.words
        ],
    }


def render(transcript: Transcript, fmt: str, file: str, model: str) -> str:
    """The transcript in format ``fmt`` (one of ``FORMATS``) of ``file``, recognised by ``model``."""
    if fmt == "txt":
        return to_txt(transcript)
    if fmt == "srt":
        return to_srt(transcript)
    if fmt == "vtt":
        return to_vtt(transcript)
    if fmt == "json":
        return json.dumps(to_json_record(transcript, file, model), ensure_ascii=False) + "\n"
    raise ValueError(f"unknown transcript format {fmt!r}; expected one of {FORMATS}")


def append_durably(file, text: str, what: str) -> None:
    """Append ``text`` to the open text ``file`` and have it reach the disk before returning, so
    that a crash or a power cut right after loses nothing written; ``what`` starts the error line."""
    try:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    except OSError as error:
        raise VivavoceError(f"{what} ({error.strerror or error})") from None


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Writes ``text`` (UTF-8) to ``path`` whole or not at all (see `atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Writes ``data`` to ``path`` whole or not at all.

    The data goes to a temporary file in the same folder, reaches the disk,
    then replaces ``path`` in one step, so ``path`` never holds half a file.
    Raises ``VivavoceError`` naming ``path`` when it cannot be written (a
    missing folder, no permission, a full disk); no temporary is left behind.
    """
    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    temporary = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(4)}.tmp")
    try:
        # os.open, unlike tempfile, creates the file with the user's umask: the
        # file gets the permissions of any other file they save.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileNotFoundError:
        raise VivavoceError(f"{path}: cannot write (the folder {folder} does not exist)") from None
    except OSError as error:
        raise VivavoceError(f"{path}: cannot write ({error.strerror or error})") from None
    try:
        with open(descriptor, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        os.unlink(temporary)
        if isinstance(error, OSError):
            raise VivavoceError(f"{path}: cannot write ({error.strerror or error})") from None
        raise


def timestamp(seconds: float, separator: str) -> str:
    """``HH:MM:SS`` + ``separator`` + ``mmm`` for a time in seconds."""
    milliseconds = max(round(seconds * 1000), 0)
    hours, milliseconds = divmod(milliseconds, 3_600_000)
    minutes, milliseconds = divmod(milliseconds, 60_000)
    whole_seconds, milliseconds = divmod(milliseconds, 1000)
    return f"{hours:02d}:{minutes:02d}:{whole_seconds:02d}{separator}{milliseconds:03d}"


def _vtt_escape(line: str) -> str:
    # WebVTT reads "&" and "<" as markup.
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
