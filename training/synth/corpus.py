"""`vivavoce train synth`: a corpus of synthetic speech, deterministic by seed, resumable, extendable.

Utterance i is planned from (seed, i) alone: its sentence, engine, voice,
speed, pitch and augmentation recipe. So a corpus is a prefix of one endless
sequence: an interrupted run finishes with ``--resume``, and a larger
``--hours`` with ``--resume`` extends it with exactly the utterances a longer
first run would have made.

The folder holds ``audio/NNNN/NNNNNNN.flac`` (16 kHz mono) and
``manifest.tsv`` (path, text, engine, voice, speed, pitch, augmentation,
seconds), in the layout `vivavoce train` reads. A row is appended only after
its audio file is complete, so the manifest always describes a valid corpus.
"""

import json
import multiprocessing
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile
import torch
import torchaudio

from engine.errors import VivavoceError
from engine.phonemes import PhonemizerError, espeak, transcript

from . import augment
from .engines import SynthesisError, choose_engines
from .text import held_out, sentences, spoken_form, training_sentences

SAMPLE_RATE = 16000
MANIFEST = "manifest.tsv"
SETTINGS = "synth.json"
COLUMNS = ("path", "text", "engine", "voice", "speed", "pitch", "augmentation", "seconds")
BABBLE_TALKERS = 24  # clean utterances, made once, that babble noise is mixed from


@dataclass(frozen=True)
class SynthConfig:
    out: str
    hours: float
    engines: tuple[str, ...] = ("espeak", "flite", "festival")
    language: str = "en"
    phonemes: bool = False
    seed: int = 0
    workers: int = 0  # 0: every core
    test_set: str = ""  # "clean" or "noisy": the held-out sentences, for measuring a model


@dataclass(frozen=True)
class Plan:
    index: int
    sentence: str
    engine: str
    voice: str
    speed: float
    pitch: float
    recipe: augment.Augmentation


class Planner:
    """Utterance i's plan, from (seed, i) alone; an endless sequence."""

    size = None

    def __init__(self, seed: int, texts: list[str], voices: dict[str, list[str]], augmentation: int):
        self.seed, self.texts, self.voices = seed, texts, voices
        self.engines = sorted(voices)
        self.augmentation = augmentation

    def plan(self, index: int) -> Plan:
        rng = np.random.default_rng([self.seed, index])
        engine = self.engines[rng.integers(len(self.engines))]
        voice = self.voices[engine][rng.integers(len(self.voices[engine]))]
        return Plan(index, self.texts[rng.integers(len(self.texts))], engine, voice,
                    round(float(rng.uniform(0.8, 1.25)), 3), round(float(rng.uniform(0.75, 1.3)), 3),
                    augment.draw(rng, version=self.augmentation))


TEST_SETS = {
    "clean": augment.Augmentation(1.0, None, None, None, False, False, 0.0),
    "noisy": augment.Augmentation(1.0, "pink", 15.0, None, False, False, 0.0),
}


class TestPlanner:
    """The held-out sentences, each read by every engine in turn (a voice drawn from (seed, i)), at
    neutral speed and pitch, clean or with pink noise at 15 dB SNR; a finite sequence of ``size`` plans."""

    def __init__(self, seed: int, texts: list[str], voices: dict[str, list[str]], condition: str):
        self.seed, self.texts, self.voices = seed, texts, voices
        self.engines = sorted(voices)
        self.recipe = TEST_SETS[condition]
        self.size = len(texts) * len(self.engines)

    def plan(self, index: int) -> Plan:
        rng = np.random.default_rng([self.seed, index])
        engine = self.engines[index % len(self.engines)]
        voice = self.voices[engine][rng.integers(len(self.voices[engine]))]
        return Plan(index, self.texts[index // len(self.engines)], engine, voice, 1.0, 1.0, self.recipe)


# Worker state, set once per process by `_start_worker`.
_worker: dict = {}


def _start_worker(engines: dict, babble: list[np.ndarray], phonemes: bool, out: Path) -> None:
    torch.set_num_threads(1)
    _worker.update(engines=engines, babble=babble, phonemes=phonemes, out=out)


def to_16k(samples: np.ndarray, rate: int) -> np.ndarray:
    if rate == SAMPLE_RATE:
        return samples
    return torchaudio.functional.resample(torch.from_numpy(samples), rate, SAMPLE_RATE).numpy()


def phoneme_accent(plan: Plan) -> str:
    """The espeak-ng voice whose phonemes match how ``plan`` is spoken: its own accent, or British or US."""
    if plan.engine == "espeak":
        return plan.voice.split("+")[0]
    return "en-gb" if plan.voice.lower().endswith("gb") else "en-us"


def _make(plan: Plan) -> dict | str:
    """Speak, augment and write one utterance; its manifest row, or a one-line reason it failed."""
    engines, out = _worker["engines"], _worker["out"]
    engine = engines[plan.engine]
    try:
        samples, rate = engine.speak(plan.sentence, plan.voice, plan.speed, plan.pitch)
        text = transcript(plan.sentence, phoneme_accent(plan)) if _worker["phonemes"] else plan.sentence
    except (SynthesisError, PhonemizerError) as error:
        return str(error)
    rng = np.random.default_rng([plan.index, 1])
    audio = augment.apply(to_16k(samples, rate), plan.recipe, rng, _worker["babble"])
    relative = Path("audio") / f"{plan.index // 1000:04}" / f"{plan.index:07}.flac"
    target = out / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial.flac")
    soundfile.write(partial, audio, SAMPLE_RATE, subtype="PCM_16")
    os.replace(partial, target)
    return {"path": str(relative), "text": text, "engine": plan.engine, "voice": plan.voice,
            "speed": plan.speed, "pitch": plan.pitch, "augmentation": json.dumps(plan.recipe.to_dict()),
            "seconds": round(len(audio) / SAMPLE_RATE, 3)}


def read_manifest(out: Path) -> tuple[int, float, int]:
    """(rows, seconds, next utterance index) of the corpus so far; a half-written last line (a crash) is cut off."""
    path = out / MANIFEST
    if not path.exists():
        return 0, 0.0, 0
    data = path.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    if len(complete) != len(data):
        with open(path, "r+b") as f:
            f.truncate(len(complete))
    rows = [line.split("\t") for line in complete.decode("utf-8").splitlines()[1:]]
    next_index = int(Path(rows[-1][0]).stem) + 1 if rows else 0
    return len(rows), sum(float(row[-1]) for row in rows), next_index


def _check_settings(out: Path, config: SynthConfig, resume: bool) -> int:
    """Check ``out`` against ``config``, recording the settings in a new corpus; its augmentation version.

    A corpus keeps the augmentation it was started with, so that one extended by a later version
    of this module is still one sequence; corpora made before the version was recorded are 1.
    """
    saved = out / SETTINGS
    recorded = {k: v for k, v in asdict(config).items() if k not in ("hours", "workers")}
    recorded["engines"] = list(config.engines)
    if saved.exists():
        if not resume:
            raise VivavoceError(f"{out}: already holds a corpus; add --resume to finish or extend it")
        previous = json.loads(saved.read_text())
        changed = [k for k in recorded if previous.get(k) != recorded[k]]
        if changed:
            raise VivavoceError(f"{out}: was made with other settings ({', '.join(changed)}); "
                                "use the same ones to extend it, or another --out")
        return int(previous.get("augmentation", 1))
    out.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps({**recorded, "augmentation": augment.VERSION}, indent=2) + "\n")
    return augment.VERSION


def synthesise(config: SynthConfig, resume: bool, notice: Callable[[str], None],
               progress: Callable[[float, float], None]) -> tuple[int, float, int]:
    """Make (or finish, or extend) the corpus; returns (utterances, seconds, failures of this run)."""
    if config.test_set and config.test_set not in TEST_SETS:
        raise VivavoceError(f"--test-set {config.test_set}: choose one of {', '.join(TEST_SETS)}")
    if config.language != "en":
        raise VivavoceError(f"--language {config.language}: only English voices are set up so far")
    engines = {e.name: e for e in choose_engines(list(config.engines), notice)}
    voices = {name: engine.voices() for name, engine in engines.items()}
    for name in [name for name, listed in voices.items() if not listed]:
        notice(f"{name} is installed but has no English voice (is its voice data installed?); skipped")
        del engines[name], voices[name]
    if not engines:
        raise VivavoceError(f"--engines {','.join(config.engines)}: none of these synthesisers has an "
                            "English voice installed")
    if config.phonemes:
        espeak()  # it writes the phoneme transcripts, whichever engines speak
    out = Path(config.out)
    augmentation = _check_settings(out, config, resume)
    # Engines read the spoken form, so that the transcript is exactly what was said.
    written = sentences()
    texts = sorted({spoken_form(s) for s in training_sentences(written)})
    if config.test_set:
        planner = TestPlanner(config.seed, sorted({spoken_form(s) for s in held_out(written)}), voices,
                              config.test_set)
    else:
        planner = Planner(config.seed, texts, voices, augmentation)
    rows, seconds, index = read_manifest(out)
    target = config.hours * 3600
    if seconds >= target:
        return rows, seconds, 0
    babble = _babble_talkers(engines, voices, texts, config.seed)
    workers = config.workers or os.cpu_count() or 1
    failures = 0
    manifest_exists = (out / MANIFEST).exists()
    with open(out / MANIFEST, "a", encoding="utf-8") as manifest, \
            multiprocessing.get_context("fork" if os.name == "posix" else "spawn").Pool(
                workers, _start_worker, (engines, babble, config.phonemes, out)) as pool:
        if not manifest_exists:
            manifest.write("\t".join(COLUMNS) + "\n")
        try:
            while seconds < target:
                # Bounded rounds: Pool.imap would otherwise read an endless plan sequence into memory.
                last = index + 16 * workers if planner.size is None else min(index + 16 * workers, planner.size)
                plans = [planner.plan(i) for i in range(index, last)]
                if not plans:
                    break
                index += len(plans)
                for row in pool.imap(_make, plans, chunksize=2):
                    if isinstance(row, str):
                        failures += 1
                        notice(f"skipped an utterance: {row}")
                        if failures > 20 and failures > 0.2 * (rows + failures):
                            raise VivavoceError(f"too many utterances fail ({failures}); the last: {row}")
                        continue
                    manifest.write("\t".join(str(row[c]).replace("\t", " ") for c in COLUMNS) + "\n")
                    manifest.flush()
                    rows += 1
                    seconds += row["seconds"]
                    progress(seconds, target)
                    if seconds >= target:
                        break
        except OSError as error:
            raise VivavoceError(f"{out}: cannot write ({error.strerror or error}); the {rows} utterances "
                                "made so far are complete and listed in the manifest") from None
        finally:
            pool.terminate()
    return rows, seconds, failures


def _babble_talkers(engines: dict, voices: dict[str, list[str]], texts: list[str],
                    seed: int) -> list[np.ndarray]:
    """A fixed set of clean utterances from every engine, for babble noise."""
    rng = np.random.default_rng([seed, 2**31])
    talkers = []
    for i in range(BABBLE_TALKERS):
        name = sorted(engines)[i % len(engines)]
        choices = voices[name]
        try:
            samples, rate = engines[name].speak(texts[rng.integers(len(texts))],
                                                choices[rng.integers(len(choices))], 1.0, 1.0)
        except SynthesisError:
            continue
        talkers.append(to_16k(samples, rate))
    return talkers
