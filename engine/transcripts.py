"""Caption transcripts kept as they happen, reopened later, exported as TXT, SRT or WebVTT.

A session's transcript is a JSON-lines file in the user's data folder: a header
line, then one line per final caption, each written, flushed and synced as it
comes. A crash or a power cut therefore loses at most the caption that was
still partial, and a torn last line (the write the power cut interrupted) is
skipped when the file is read back.
"""

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import VivavoceError
from .formats import append_durably, atomic_write_text, make_cues, srt_cue, timestamp, vtt_cue
from .paths import data_dir
from .transcript import Word

EXPORT_FORMATS = ("txt", "srt", "vtt")
SUFFIX = ".jsonl"


def transcripts_dir() -> Path:
    return data_dir() / "transcripts"


@dataclass
class Line:
    """One final caption: its words, times in seconds from the session's start."""

    words: list[Word]

    @property
    def start(self) -> float:
        return self.words[0].start

    @property
    def end(self) -> float:
        return self.words[-1].end

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)

    def to_json(self) -> str:
        return json.dumps({"start": round(self.start, 3), "end": round(self.end, 3), "text": self.text,
                           "words": [[w.text, round(w.start, 3), round(w.end, 3), round(w.confidence, 3)]
                                     for w in self.words]}, ensure_ascii=False)


@dataclass
class SavedTranscript:
    path: Path
    started: str  # local time the session began, ISO 8601
    source: str
    model: str
    lines: list[Line] = field(default_factory=list)


class TranscriptRecorder:
    """Appends final captions to a new transcript file in ``folder`` (default: the user's)."""

    def __init__(self, source: str, model: str, folder: Path | None = None):
        folder = Path(folder) if folder else transcripts_dir()
        now = time.localtime()
        stem = time.strftime("%Y-%m-%d_%H-%M-%S", now)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for n in range(1000):
                self.path = folder / (stem + (f"_{n}" if n else "") + SUFFIX)
                try:
                    self.file = open(self.path, "x", encoding="utf-8")
                    break
                except FileExistsError:
                    continue
        except OSError as error:
            raise VivavoceError(f"{folder}: cannot save the transcript there ({error.strerror})") from None
        self._write(json.dumps({"vivavoce_transcript": 1, "started": time.strftime("%Y-%m-%dT%H:%M:%S", now),
                                "source": source, "model": model}, ensure_ascii=False))

    def add(self, words: list[Word]) -> Line | None:
        """Record one final caption; returns it as a line (None for a caption without words)."""
        if not words:
            return None
        line = Line(list(words))
        self._write(line.to_json())
        return line

    def _write(self, text: str) -> None:
        append_durably(self.file, text + "\n", f"{self.path}: cannot save the transcript")

    def close(self) -> None:
        """Close the file. Text that could not reach the disk (it is full) was reported when it was
        added; it is given up here, not reported again."""
        try:
            self.file.close()
        except OSError:
            pass


def read_transcript(path: str | os.PathLike) -> SavedTranscript:
    """A transcript file read back; a torn last line is left out."""
    path = Path(path)
    try:
        rows = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise VivavoceError(f"{path}: cannot read the transcript ({error.strerror})") from None
    except UnicodeDecodeError:
        raise VivavoceError(f"{path}: not a Vivavoce transcript (not UTF-8 text)") from None
    try:
        header = json.loads(rows[0]) if rows else {}
    except json.JSONDecodeError:
        header = {}
    if not isinstance(header, dict) or header.get("vivavoce_transcript") != 1:
        raise VivavoceError(f"{path}: not a Vivavoce transcript")
    saved = SavedTranscript(path, header.get("started", ""), header.get("source", ""), header.get("model", ""))
    for number, row in enumerate(rows[1:], start=2):
        try:
            words = [Word(str(t), float(s), float(e), float(c)) for t, s, e, c in json.loads(row)["words"]]
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            if number == len(rows):
                break  # the write a crash interrupted
            raise VivavoceError(f"{path}: line {number} is not a caption") from None
        if words:
            saved.lines.append(Line(words))
    return saved


def list_transcripts(folder: Path | None = None) -> list[Path]:
    """Saved transcripts, newest first."""
    folder = Path(folder) if folder else transcripts_dir()
    if not folder.is_dir():
        return []
    return sorted(folder.glob("*" + SUFFIX), key=lambda p: p.name, reverse=True)


def render_lines(lines: list[Line], fmt: str) -> str:
    """``lines`` as TXT (one ``[HH:MM:SS] text`` line per caption), SRT or WebVTT."""
    if fmt == "txt":
        return "".join(f"[{timestamp(line.start, '.')[:-4]}] {line.text}\n" for line in lines)
    cues = [cue for line in lines for cue in make_cues(line.words)]
    if fmt == "srt":
        return "\n".join(srt_cue(number, cue) for number, cue in enumerate(cues, start=1))
    if fmt == "vtt":
        return "\n".join(["WEBVTT\n", *(vtt_cue(cue) for cue in cues)])
    raise VivavoceError(f"unknown transcript format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")


def export(lines: list[Line], path: str | os.PathLike) -> None:
    """Write ``lines`` to ``path`` in the format its suffix names, whole or not at all."""
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in EXPORT_FORMATS:
        raise VivavoceError(f"{path}: transcripts are exported as .txt, .srt or .vtt")
    atomic_write_text(path, render_lines(lines, fmt))
