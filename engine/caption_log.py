"""Saving captions as they become final: TXT, SRT or VTT, append-only.

Every final caption is written, flushed and synced at once, and the file is
valid after every write, so a crash or a power cut loses at most the partial
caption on screen.
"""

import os
from pathlib import Path

from .errors import VivavoceError
from .formats import append_durably, make_cues, srt_cue, timestamp, vtt_cue
from .transcript import Word

FORMATS = ("txt", "srt", "vtt")


class CaptionLog:
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.format = self.path.suffix.lower().lstrip(".")
        if self.format not in FORMATS:
            raise VivavoceError(f"{self.path}: captions are saved as .txt, .srt or .vtt")
        try:
            self.file = open(self.path, "w", encoding="utf-8")
        except OSError as error:
            raise VivavoceError(f"{self.path}: cannot write ({error.strerror})") from None
        self.cues = 0
        if self.format == "vtt":
            self._write("WEBVTT\n")

    def add(self, words: list[Word]) -> None:
        """Append one final caption."""
        if not words:
            return
        if self.format == "txt":
            text = f"[{timestamp(words[0].start, '.')[:-4]}] " + " ".join(w.text for w in words) + "\n"
        else:
            parts = []
            for cue in make_cues(words):
                self.cues += 1
                block = srt_cue(self.cues, cue) if self.format == "srt" else vtt_cue(cue)
                parts.append(block if self.format == "srt" and self.cues == 1 else "\n" + block)
            text = "".join(parts)
        self._write(text)

    def _write(self, text: str) -> None:
        append_durably(self.file, text, f"{self.path}: cannot write")

    def close(self) -> None:
        """Close the file. Text that could not reach the disk (it is full) was reported when it was
        added; it is given up here, not reported again."""
        try:
            self.file.close()
        except OSError:
            pass
