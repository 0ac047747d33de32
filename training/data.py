"""The training data: a folder of recordings and their transcripts, checked, split and batched.

A corpus is a folder tree of audio files (WAV, FLAC, OGG, MP3 at any rate and
channel count) with optional transcripts, from either of two sources:

- a sidecar: ``name.txt`` beside ``name.wav``, holding the transcript;
- a manifest: any ``.tsv`` (tab-separated) or ``.csv`` (comma-separated) in
  the tree whose header names a path column (``path``, ``file``, ``filename``,
  ``audio``, ``wav``) and a text column (``text``, ``sentence``, ``transcript``,
  ``transcription``). Paths are relative to the manifest's folder, or to a
  ``clips/`` folder beside it: Common Voice's ``validated.tsv`` layout.

Scanning reads only file headers, never decodes audio, and never stops at a
bad file: every problem is collected for the ``inspect-data`` report. Files
and folders whose names start with a dot (``.DS_Store``, macOS ``._name.wav``
resource forks) are not part of the corpus.
"""

import csv
import math
import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine.audio import SAMPLE_RATE, AudioFile, normalized
from engine.errors import AudioError, VivavoceError

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")
"""The audio file name endings a scan looks for, in any letter case."""

_MANIFEST_DELIMITERS = {".tsv": "\t", ".csv": ","}
_PATH_COLUMNS = ("path", "file", "filename", "audio", "wav")
_TEXT_COLUMNS = ("text", "sentence", "transcript", "transcription")

# Beside Common Voice's validated.tsv, these list clips the community has not
# validated or has rejected: their sentences are not trusted transcripts.
_COMMON_VOICE_UNVALIDATED = ("invalidated.tsv", "other.tsv")

# How many names the report lists under each heading before "... and N more".
_REPORT_NAMES = 20
_HISTOGRAM_BAR = 40


@dataclass(frozen=True)
class Utterance:
    """One readable recording.

    ``path`` is absolute, ``duration`` in seconds, ``text`` the transcript as
    written (stripped, runs of whitespace made one space), or None when it has none.
    """

    path: Path
    duration: float
    text: str | None


@dataclass
class Corpus:
    """What a scan found in ``folder``.

    ``utterances``: the readable audio, sorted by path.
    ``unreadable``: ``(file, one-line reason)`` for each audio file that cannot be
    read and each transcript file or manifest row that cannot be used.
    ``without_text``: readable audio with no transcript; left empty when the
    corpus has no transcripts at all (then it is meant for pretraining).
    ``text_without_audio``: transcripts whose audio is missing, as the sidecar's
    path or ``"manifest:line"``.
    ``sample_rates``: Hz -> number of readable files at that rate.
    ``characters``: character -> count, over the transcripts of ``utterances``.
    """

    folder: Path
    utterances: list[Utterance]
    unreadable: list[tuple[Path, str]]
    without_text: list[Path]
    text_without_audio: list[str]
    sample_rates: Counter
    characters: Counter

    @property
    def labelled(self) -> list[Utterance]:
        """The utterances that have a transcript."""
        return [utterance for utterance in self.utterances if utterance.text is not None]

    @property
    def total_seconds(self) -> float:
        """The length of all utterances together, in seconds."""
        return sum(utterance.duration for utterance in self.utterances)


@dataclass(frozen=True)
class _Transcript:
    """A transcript entry: its text and where it was written (a sidecar path or "manifest:line")."""

    text: str
    source: str


def scan(folder: str | os.PathLike, progress: Callable[[int, int], None] | None = None) -> Corpus:
    """Every recording under ``folder`` with its duration and transcript, and every problem found.

    ``progress(done, total)`` is called after each audio file's header is read.
    Raises ``VivavoceError`` when ``folder`` is not a folder or holds no audio files.
    """
    folder = Path(os.path.abspath(folder))
    if not folder.is_dir():
        reason = "not a folder" if folder.exists() else "no such folder"
        raise VivavoceError(f"{folder}: {reason}")
    audio_files, text_files, manifests = _walk(folder)

    unreadable: list[tuple[Path, str]] = []
    transcripts: dict[Path, _Transcript] = {}
    text_without_audio: list[str] = []
    sidecars = {(path.parent, path.stem): path for path in text_files}
    audio_stems = {(path.parent, path.stem) for path in audio_files}
    text_without_audio += [str(path) for key, path in sidecars.items() if key not in audio_stems]
    for audio in audio_files:
        sidecar = sidecars.get((audio.parent, audio.stem))
        if sidecar is None:
            continue
        try:
            text = _normalise(sidecar.read_text(encoding="utf-8-sig"))
        except UnicodeDecodeError:
            unreadable.append((sidecar, "not UTF-8 text"))
            continue
        if text:
            transcripts[audio] = _Transcript(text, str(sidecar))
        else:
            unreadable.append((sidecar, "the transcript is empty"))
    for manifest in manifests:
        _read_manifest(manifest, transcripts, text_without_audio, unreadable)

    # Transcripts were given, even if none of them could be used.
    has_transcripts = bool(transcripts or text_without_audio or unreadable)
    # A manifest may name audio outside the tree, or with another file name ending.
    candidates = sorted(set(audio_files) | set(transcripts))
    utterances: list[Utterance] = []
    sample_rates: Counter = Counter()
    for done, path in enumerate(candidates, start=1):
        try:
            with AudioFile(path) as audio:
                duration, rate = audio.duration, audio.source_rate
        except AudioError as error:
            unreadable.append((path, str(error).removeprefix(f"{path}: ")))
        else:
            entry = transcripts.get(path)
            utterances.append(Utterance(path, duration, entry.text if entry else None))
            sample_rates[rate] += 1
        if progress is not None:
            progress(done, len(candidates))

    characters: Counter = Counter()
    for utterance in utterances:
        if utterance.text is not None:
            characters.update(utterance.text)
    return Corpus(
        folder=folder,
        utterances=utterances,
        unreadable=sorted(unreadable, key=lambda entry: entry[0]),
        without_text=[u.path for u in utterances if u.text is None] if has_transcripts else [],
        text_without_audio=text_without_audio,
        sample_rates=sample_rates,
        characters=characters,
    )


def _walk(folder: Path) -> tuple[list[Path], list[Path], list[Path]]:
    """The audio files, ``.txt`` files and manifest candidates under ``folder``, each sorted.

    Raises ``VivavoceError`` when there is no audio file.
    """
    audio_files, text_files, manifests = [], [], []
    for parent, folders, files in os.walk(folder):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            suffix = os.path.splitext(name)[1].lower()
            path = Path(parent, name)
            if suffix in AUDIO_EXTENSIONS:
                audio_files.append(path)
            elif suffix == ".txt":
                text_files.append(path)
            elif suffix in _MANIFEST_DELIMITERS:
                manifests.append(path)
    if not audio_files:
        raise VivavoceError(f"{folder}: no audio files (looked for {', '.join(AUDIO_EXTENSIONS)})")
    return sorted(audio_files), sorted(text_files), sorted(manifests)


def _read_manifest(
    manifest: Path,
    transcripts: dict[Path, _Transcript],
    text_without_audio: list[str],
    unreadable: list[tuple[Path, str]],
) -> None:
    """Adds ``manifest``'s rows to ``transcripts``; rows that cannot be used go to the other lists.

    A table without a path column and a text column is not a manifest and is
    ignored, as are Common Voice's lists of unvalidated clips.
    """
    if manifest.name in _COMMON_VOICE_UNVALIDATED and (manifest.parent / "validated.tsv").is_file():
        return
    delimiter = _MANIFEST_DELIMITERS[manifest.suffix.lower()]
    # Common Voice's TSV files quote nothing, and their sentences contain quote marks.
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    clips = manifest.parent / "clips"
    # Undecodable bytes become lone surrogates, so one bad row does not hide the rest.
    with open(manifest, encoding="utf-8-sig", errors="surrogateescape", newline="") as stream:
        reader = csv.reader(stream, delimiter=delimiter, quoting=quoting)
        try:
            header = [name.strip().lower() for name in next(reader, [])]
            path_column = next((header.index(name) for name in _PATH_COLUMNS if name in header), None)
            text_column = next((header.index(name) for name in _TEXT_COLUMNS if name in header), None)
            if path_column is None or text_column is None:
                return
            for row in reader:
                where = f"{manifest}:{reader.line_num}"
                if not any(cell.strip() for cell in row):
                    continue
                if not _is_utf8("".join(row)):
                    unreadable.append((manifest, f"line {reader.line_num}: not UTF-8 text"))
                    continue
                name = row[path_column].strip() if path_column < len(row) else ""
                text = _normalise(row[text_column]) if text_column < len(row) else ""
                if not name or not text:
                    missing = "path" if not name else "transcript"
                    unreadable.append((manifest, f"line {reader.line_num}: no {missing}"))
                    continue
                audio = Path(os.path.abspath(manifest.parent / name))
                if not audio.is_file() and clips.is_dir():
                    audio = Path(os.path.abspath(clips / name))
                if not audio.is_file():
                    text_without_audio.append(where)
                    continue
                earlier = transcripts.setdefault(audio, _Transcript(text, where))
                if earlier.text != text:
                    unreadable.append((
                        manifest,
                        f"line {reader.line_num}: {name} already has another transcript "
                        f"(from {earlier.source}), which is kept",
                    ))
        except csv.Error as error:
            unreadable.append((manifest, f"line {reader.line_num}: {error}; the rest is skipped"))


def _is_utf8(text: str) -> bool:
    """Whether ``text`` was decoded without the lone surrogates that stand for undecodable bytes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _normalise(text: str) -> str:
    """``text`` stripped, with every run of whitespace (newlines included) made one space."""
    return " ".join(text.split())


def report(corpus: Corpus) -> str:
    """The ``inspect-data`` text: counts, durations, sample rates, problems and characters."""
    labelled = corpus.labelled
    lines = [
        f"{corpus.folder}",
        f"Usable utterances: {len(corpus.utterances)}, {_clock(corpus.total_seconds)} in all",
    ]
    if labelled:
        lines.append(f"With transcripts: {len(labelled)}, {_clock(sum(u.duration for u in labelled))}")
    else:
        lines.append("With transcripts: none (the folder can serve pretraining only)")
    if corpus.utterances:
        lines += ["", "Durations (seconds):", *_histogram([u.duration for u in corpus.utterances])]
    rates = ", ".join(f"{rate} Hz: {count}" for rate, count in sorted(corpus.sample_rates.items()))
    lines += ["", f"Sample rates: {rates or 'none'}"]
    sections = (
        ("Unreadable or unusable",
         [f"{_shown(corpus, path)}: {reason}" for path, reason in corpus.unreadable], None),
        ("Audio without transcript", [_shown(corpus, path) for path in corpus.without_text], _REPORT_NAMES),
        ("Transcripts without audio", [_shown(corpus, entry) for entry in corpus.text_without_audio],
         _REPORT_NAMES),
    )
    for title, names, cap in sections:
        if names:
            lines += ["", f"{title}: {len(names)}", *_capped(names, cap)]
    if corpus.characters:
        lines += ["", f"Characters in transcripts: {len(corpus.characters)}"]
        lines += _character_table(corpus.characters)
    return "\n".join(lines) + "\n"


def _clock(seconds: float) -> str:
    """``seconds`` as ``h:mm:ss``, e.g. ``1:02:03``."""
    whole = round(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _histogram(durations: list[float]) -> list[str]:
    """Text bars counting ``durations`` (seconds) in ten bins or fewer, of a round width,
    from the shortest one's bin to the longest one's."""
    width = next(w for w in _round_widths() if max(durations) / w < 10)
    counts = Counter(int(d // width) for d in durations)
    bins = range(min(counts), max(counts) + 1)
    labels = [f"{i * width:g}-{(i + 1) * width:g}" for i in bins]
    label_width = max(len(label) for label in labels)
    most = max(counts.values())
    bars = ["#" * math.ceil(_HISTOGRAM_BAR * counts[i] / most) for i in bins]
    return [
        f"  {label:>{label_width}} {bar:<{_HISTOGRAM_BAR}} {counts[i]}"
        for i, label, bar in zip(bins, labels, bars)
    ]


def _round_widths() -> Iterator[float]:
    """0.1, 0.2, 0.5, 1, 2, 5, 10, ... seconds."""
    scale = 0.1
    while True:
        for step in (1, 2, 5):
            yield round(step * scale, 10)
        scale *= 10


def _shown(corpus: Corpus, entry: Path | str) -> str:
    """``entry`` relative to the corpus folder when it lies inside it."""
    text = str(entry)
    prefix = str(corpus.folder) + os.sep
    return text.removeprefix(prefix)


def _capped(names: list[str], cap: int | None) -> list[str]:
    """``names`` indented, the first ``cap`` of them (all when None) and a count of the rest."""
    shown = names if cap is None else names[:cap]
    rest = [f"  ... and {len(names) - len(shown)} more"] if len(shown) < len(names) else []
    return [f"  {name}" for name in shown] + rest


def _character_table(characters: Counter) -> list[str]:
    """The characters, most frequent first, several to a line; unseen ones shown by code point."""
    cells = [f"{_visible(char)} {count}" for char, count in characters.most_common()]
    column = max(len(cell) for cell in cells) + 2
    per_line = max(1, 78 // column)
    return ["  " + "".join(cell.ljust(column) for cell in cells[i : i + per_line]).rstrip()
            for i in range(0, len(cells), per_line)]


def _visible(char: str) -> str:
    """A character as the report shows it: itself, or ``space`` / ``U+200B`` when it cannot be seen."""
    if char == " ":
        return "space"
    return char if char.isprintable() and not char.isspace() else f"U+{ord(char):04X}"


def split(
    utterances: Sequence[Utterance], valid_fraction: float, seed: int
) -> tuple[list[Utterance], list[Utterance]]:
    """``(train, valid)``: about ``valid_fraction`` of ``utterances`` drawn at random for validation.

    The draw depends only on ``seed`` and the order of ``utterances``. With two
    or more utterances and a fraction above zero, at least one goes to each
    side. Both keep the input order. Raises ``VivavoceError`` unless
    ``0 <= valid_fraction < 1``.
    """
    if not 0 <= valid_fraction < 1:
        raise VivavoceError(f"validation fraction {valid_fraction}: must be at least 0 and below 1")
    count = len(utterances)
    valid_count = round(count * valid_fraction)
    if valid_fraction > 0 and count >= 2:
        valid_count = min(max(valid_count, 1), count - 1)
    chosen = set(np.random.default_rng(seed).permutation(count)[:valid_count].tolist())
    train = [u for i, u in enumerate(utterances) if i not in chosen]
    valid = [u for i, u in enumerate(utterances) if i in chosen]
    return train, valid


def drop_long(utterances: Sequence[Utterance], max_seconds: float) -> tuple[list[Utterance], int]:
    """``(kept, skipped)``: the utterances of at most ``max_seconds``, and how many were longer."""
    kept = [utterance for utterance in utterances if utterance.duration <= max_seconds]
    return kept, len(utterances) - len(kept)


def length_batches(
    durations: Sequence[float], max_batch_seconds: float, seed: int, epoch: int, shuffle: bool = True
) -> list[list[int]]:
    """Indices into ``durations`` (seconds) grouped into batches of similar length.

    Indices are sorted by duration and cut into runs whose padded size,
    ``len(batch) * max(duration in batch)``, is at most ``max_batch_seconds``;
    an utterance longer than that is a batch of its own. With ``shuffle`` the
    batch order is then shuffled by a generator seeded with ``(seed, epoch)``.
    Every index appears exactly once; the result depends on nothing else.
    """
    order = sorted(range(len(durations)), key=lambda i: (durations[i], i))
    batches: list[list[int]] = []
    for index in order:
        # Sorted ascending, so the newcomer is the longest of its batch.
        if batches and (len(batches[-1]) + 1) * durations[index] <= max_batch_seconds:
            batches[-1].append(index)
        else:
            batches.append([index])
    if shuffle:
        permutation = np.random.default_rng([seed, epoch]).permutation(len(batches))
        batches = [batches[i] for i in permutation]
    return batches


class AudioDataset(torch.utils.data.Dataset):
    """The utterances' waveforms, whole or as random crops, as the model will see them.

    With ``crop_seconds``, an item longer than that is a window of that length
    at an offset drawn from a generator seeded by ``(seed, epoch, index)``: a
    run, and a resumed run, sees the same crops. Only the window is decoded.
    With ``normalize`` (a model folder's ``normalize_input``) each item is
    scaled to zero mean and unit variance, exactly as `engine.recognizer`
    scales what it recognises; padding is added after, so it stays zero.
    """

    def __init__(self, utterances: Sequence[Utterance], crop_seconds: float | None = None, seed: int = 0,
                 normalize: bool = True):
        self.utterances = list(utterances)
        self.crop_samples = None if crop_seconds is None else round(crop_seconds * SAMPLE_RATE)
        self.seed = seed
        self.normalize = normalize
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Chooses the epoch's crops. Call it before iterating a DataLoader over the epoch:
        workers copy the dataset when the iteration starts (unless they are persistent)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.utterances)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        """``(waveform, index)``: float32 16 kHz mono, shape ``(samples,)``.

        Raises ``AudioError`` when the file can no longer be read.
        """
        with AudioFile(self.utterances[index].path) as audio:
            start, stop = 0, audio.num_samples
            if self.crop_samples is not None and stop > self.crop_samples:
                generator = np.random.default_rng([self.seed, self.epoch, index])
                start = int(generator.integers(0, stop - self.crop_samples + 1))
                stop = start + self.crop_samples
            samples = audio.read(start, stop)
        if self.normalize:
            samples = normalized(samples)
        return torch.from_numpy(samples), index



def collate(items: Sequence[tuple[torch.Tensor, int]]) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """``(waveforms, lengths, indices)``: waveforms zero-padded at the end to shape ``(B, S)``,
    their lengths in samples, shape ``(B,)`` long, and the dataset indices in the same order."""
    lengths = torch.tensor([len(waveform) for waveform, _ in items], dtype=torch.long)
    batch = torch.zeros(len(items), int(lengths.max()), dtype=torch.float32)
    for row, (waveform, _) in enumerate(items):
        batch[row, : len(waveform)] = waveform
    return batch, lengths, [index for _, index in items]
