"""A set of the user's own recordings for training: sentences to read, and each reading saved.

A set is a folder, by default ``recordings/NAME`` in the user's data folder, in the layout the
training commands read: ``0001.wav`` (16 kHz mono, 16-bit) with its transcript ``0001.txt``
beside it, the number being the sentence's place in the set's list. The list is the hidden file
``.sentences.txt`` in the folder (hidden files are not part of a corpus), one sentence a line,
made from the bundled prompts (``assets/prompts/en.txt``) or the user's own text. Once something
is recorded, lines are only ever added to it, so a number always means the same sentence.

Every file is written whole or not at all (`engine.formats.atomic_write_bytes`); the transcript goes first, so a crash
leaves at worst a transcript without audio, which training ignores, never audio that training
would read with no transcript or the wrong one.

Imports numpy and soundfile only: the app uses this before torch is loaded.
"""

import importlib.resources
import io
from pathlib import Path

import numpy as np
import soundfile

from engine.errors import VivavoceError
from engine.formats import atomic_write_bytes, atomic_write_text
from engine.paths import data_dir

SAMPLE_RATE = 16000
SENTENCES = ".sentences.txt"

# A take is cut to its speech with this much kept around it, in seconds (the synthetic corpus
# has 0-0.6 s of silence before a sentence and 0.1-0.8 s after).
LEAD_SECONDS, TAIL_SECONDS = 0.25, 0.4
_FRAME = SAMPLE_RATE // 50  # 20 ms
SPEECH_DB = -26.0  # a frame is speech when within this many dB of the take's loudest frame
MIN_SPEECH_SECONDS = 0.4
QUIET_DBFS = -36.0  # a take whose loudest frame is quieter than this is too quiet to train on well
CLIP_LEVEL = 0.999


def recordings_dir() -> Path:
    return data_dir() / "recordings"


def bundled_prompts() -> list[str]:
    """The bundled English sentences to read, best first (``packaging/make_prompts.py``)."""
    text = (importlib.resources.files("assets") / "prompts" / "en.txt").read_text(encoding="utf-8")
    return read_sentences(text)


def read_sentences(text: str) -> list[str]:
    """The sentences of a text: one a line; blank lines and lines starting with # are skipped."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def dbfs(samples: np.ndarray) -> float:
    """The RMS level of ``samples`` in dB below full scale (-120 for silence)."""
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    return 20 * np.log10(max(rms, 1e-6))


def _frame_levels(samples: np.ndarray) -> np.ndarray:
    """The level of each whole 20 ms frame, in dBFS."""
    frames = len(samples) // _FRAME
    energy = np.square(samples[:frames * _FRAME].reshape(frames, _FRAME), dtype=np.float64).mean(axis=1)
    return 10 * np.log10(np.maximum(energy, 1e-12))


def speech_span(samples: np.ndarray) -> tuple[int, int] | None:
    """The first and last sample of speech in a take: the frames within ``SPEECH_DB`` of its
    loudest, or None when no frame rises above the quiet floor of -60 dBFS."""
    levels = _frame_levels(samples)
    if len(levels) == 0:
        return None
    loud = np.flatnonzero(levels >= max(levels.max() + SPEECH_DB, -60.0))
    if len(loud) == 0:
        return None
    return int(loud[0]) * _FRAME, int(loud[-1] + 1) * _FRAME


def trimmed(samples: np.ndarray) -> np.ndarray:
    """The take without the silence before and after its speech (a little of it is kept)."""
    span = speech_span(samples)
    if span is None:
        return samples
    start = max(0, span[0] - int(LEAD_SECONDS * SAMPLE_RATE))
    return samples[start:span[1] + int(TAIL_SECONDS * SAMPLE_RATE)]


def check_take(samples: np.ndarray) -> tuple[bool, str]:
    """Whether a take can be kept, and what to tell the user about it ("" when all is well)."""
    span = speech_span(samples)
    if span is None or (span[1] - span[0]) / SAMPLE_RATE < MIN_SPEECH_SECONDS:
        return False, "Nothing was heard: check the microphone (the level bar moves when it hears you)."
    speech = samples[span[0]:span[1]]
    if np.mean(np.abs(speech) >= CLIP_LEVEL) > 0.001:
        return True, "That was too loud and clipped: move back from the microphone or turn its level down, then record it again."
    if _frame_levels(speech).max() < QUIET_DBFS:
        return True, "That was very quiet: move closer to the microphone or turn its level up, then record it again."
    return True, ""


class RecordingSet:
    """The sentences of one set and which of them are recorded. ``folder`` need not exist yet:
    it is made with the first recording."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._seconds: dict[int, float] = {}  # each recording's length, read once
        listed = self.folder / SENTENCES
        try:
            self.sentences = (read_sentences(listed.read_text(encoding="utf-8")) if listed.exists()
                              else bundled_prompts())
        except (OSError, UnicodeDecodeError) as error:
            raise VivavoceError(f"cannot read the sentences of {self.folder}: {listed}: {error}") from None

    @property
    def name(self) -> str:
        return self.folder.name

    def audio(self, index: int) -> Path:
        return self.folder / f"{index + 1:04d}.wav"

    def transcript(self, index: int) -> Path:
        return self.folder / f"{index + 1:04d}.txt"

    def recorded(self, index: int) -> bool:
        return self.audio(index).exists()

    def recorded_indices(self) -> list[int]:
        return [i for i in range(len(self.sentences)) if self.recorded(i)]

    def next_unrecorded(self, after: int = -1) -> int | None:
        """The first sentence after ``after`` not yet recorded, wrapping round; None when all are."""
        count = len(self.sentences)
        for step in range(1, count + 1):
            index = (after + step) % count
            if not self.recorded(index):
                return index
        return None

    def delete(self, index: int) -> None:
        """Delete the recording of sentence ``index``: its audio first, so that no audio is ever
        left without its transcript."""
        for path in (self.audio(index), self.transcript(index)):
            try:
                path.unlink(missing_ok=True)
            except OSError as error:
                raise VivavoceError(f"cannot delete {path}: {error.strerror or error}") from None
        self._seconds.pop(index, None)

    def seconds(self) -> float:
        """The length of all its recordings together, in seconds (each file's header read once)."""
        total = 0.0
        for index in self.recorded_indices():
            if index not in self._seconds:
                try:
                    self._seconds[index] = soundfile.info(str(self.audio(index))).duration
                except (RuntimeError, soundfile.LibsndfileError):
                    continue
            total += self._seconds[index]
        return total

    def add_sentences(self, sentences: list[str]) -> int:
        """Add sentences the set does not have yet; with nothing recorded yet they replace the
        list instead. Returns how many the list gained."""
        if not self.recorded_indices():
            self.sentences = []
        new = [s for s in dict.fromkeys(sentences) if s not in set(self.sentences)]
        self.sentences += new
        self._save_sentences()
        return len(new)

    def _save_sentences(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.folder / SENTENCES, "".join(s + "\n" for s in self.sentences))

    def save(self, index: int, samples: np.ndarray) -> Path:
        """Save a take of sentence ``index`` (16 kHz float samples), replacing any earlier one."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise VivavoceError(f"cannot make the recordings folder {self.folder}: {error.strerror or error}") from None
        if not (self.folder / SENTENCES).exists():
            self._save_sentences()
        atomic_write_text(self.transcript(index), self.sentences[index] + "\n")
        wav = io.BytesIO()
        soundfile.write(wav, np.clip(samples, -1.0, 1.0), SAMPLE_RATE, subtype="PCM_16", format="WAV")
        atomic_write_bytes(self.audio(index), wav.getvalue())
        self._seconds[index] = len(samples) / SAMPLE_RATE
        return self.audio(index)


def recording_sets() -> list[str]:
    """The names of the sets in the user's data folder, sorted."""
    folder = recordings_dir()
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")) \
        if folder.is_dir() else []
