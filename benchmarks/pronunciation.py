"""How far a learner can trust the pronunciation verdicts: mistakes caught, right words passed.

    .venv/bin/python benchmarks/pronunciation.py [--model phonemes-en] [--engines espeak,flite,...]
        [--voices 2] [--pairs test|dev] [--thresholds 50 20 ...] [--real benchmarks/real_speech]
        [--accent en-us]

A mistake is simulated the way a learner makes it: a synthesiser reads the
sentence with one word swapped for its minimal pair ("The sheep is cheap" for
"The ship is cheap": one sound changed, the classic errors of learners of
English). Each of these sentences is read by ``--voices`` voices of each
engine, right and with the mistake, and scored against the target sentence.
Reported per engine, for each threshold under which a sound counts as wrong
(the app's is engine.pronounce.GOOD; it was chosen with ``--pairs dev``, eight
other pairs, so that the test pairs judge it fairly):

- caught: the swapped word is marked wrong;
- named: of those whose pair differs in one sound, that sound is marked wrong
  and what was heard instead is the sound the voice said;
- false alarms: words marked wrong in the right readings, and in the wrong
  readings the words other than the swapped one.

Real people cannot be asked to make mistakes here, but they can be asked to be
right: ``--real`` scores the recordings with transcripts in benchmarks/real_speech
(native speakers reading) and reports the share of their words marked wrong,
a false alarm rate on real voices. Nothing here is used in training: these
sentences are not in the corpus sentences, and Piper's voice (``--engines
piper``) was never heard.
"""

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
import torchaudio

from engine.audio import load_audio
from engine.device import resolve_device
from engine.errors import VivavoceError
from engine.phonemes import target_words
from engine.pronounce import GOOD, PronunciationScorer
from engine.recognizer import Recognizer
from engine.store import load_phoneme_model
from training.synth.engines import choose_engines

# (target sentence, the word a learner says wrongly, what they say instead)
MINIMAL_PAIRS = [
    ("The ship is in the harbour.", "ship", "sheep"),
    ("I will live here next year.", "live", "leave"),
    ("I think it is going to rain.", "think", "sink"),
    ("There are three birds on the roof.", "three", "tree"),
    ("She bought a red coat.", "red", "wed"),
    ("Turn right at the corner.", "right", "light"),
    ("He wore a warm vest.", "vest", "west"),
    ("It was a very long day.", "very", "berry"),
    ("The glass is full of water.", "full", "fool"),
    ("The cat sat on the mat.", "cat", "cut"),
    ("The bed is by the window.", "bed", "bad"),
    ("I walk every morning.", "walk", "work"),
    ("Please pass the salt.", "pass", "path"),
    ("My feet are cold.", "feet", "fit"),
    ("He lost his cap.", "cap", "cup"),
    ("We ate the soup with a spoon.", "soup", "soap"),
    ("The boat left the port.", "boat", "bought"),
    ("Please fill the glass.", "fill", "feel"),
    ("Can you hear the bell?", "bell", "ball"),
    ("It is a thin book.", "thin", "tin"),
    ("The price of rice went up.", "rice", "lice"),
    ("I need a pen.", "pen", "pan"),
    ("Look at the sheep in the field.", "sheep", "ship"),
    ("They are washing the van.", "van", "ban"),
]


# Others, only for choosing the threshold (--pairs dev), so that the test pairs judge it fairly.
DEV_PAIRS = [
    ("The hill is steep.", "hill", "heel"),
    ("They thanked the team.", "thanked", "tanked"),
    ("The road was long.", "road", "load"),
    ("She wants a vote.", "vote", "boat"),
    ("The hat is on the table.", "hat", "hot"),
    ("He sat on the wall.", "wall", "ball"),
    ("I bought a new pen.", "new", "knew"),
    ("The dog ran away.", "dog", "dug"),
]


def said(target: str, word: str, instead: str) -> str:
    return " ".join(instead if w.strip(".,?!") == word else w for w in target.split())


def resample(samples: np.ndarray, rate: int) -> np.ndarray:
    if rate == 16000:
        return samples.astype(np.float32)
    return torchaudio.functional.resample(torch.from_numpy(samples.astype(np.float32)), rate, 16000).numpy()


def changed_sound(target: str, word: str, instead: str, accent: str) -> tuple[int, str, str] | None:
    """Where the minimal pair differs in one sound: (index in the word, expected, said), else None."""
    expected = next(w for w in target_words(target, accent) if w.text == word).phonemes
    spoken = next(w for w in target_words(said(target, word, instead), accent) if w.text == instead).phonemes
    if len(expected) != len(spoken):
        return None
    differ = [i for i, (a, b) in enumerate(zip(expected, spoken)) if a != b]
    return (differ[0], expected[differ[0]], spoken[differ[0]]) if len(differ) == 1 else None


def verdicts(readings: list, threshold: float) -> list[int]:
    """[caught, readings with a mistake, named, caught with a one-sound change, right-reading words flagged,
    right-reading words, other words flagged, other words] when a sound scoring under ``threshold`` is wrong."""
    t = [0] * 8

    def wrong(word) -> bool:
        return any(s.score < threshold for s in word.sounds)

    for good, bad, word, change in readings:
        t[4] += sum(wrong(w) for w in good.words)
        t[5] += len(good.words)
        others = [w for w in bad.words if w.text != word]
        t[6] += sum(wrong(w) for w in others)
        t[7] += len(others)
        swapped = next(w for w in bad.words if w.text == word)
        t[1] += 1
        if wrong(swapped):
            t[0] += 1
            if change is not None:
                t[3] += 1
                index, _, spoken = change
                sound = swapped.sounds[index] if index < len(swapped.sounds) else None
                t[2] += bool(sound is not None and sound.score < threshold and sound.heard == spoken)
    return t


def percent(part: int, whole: int) -> str:
    return f"{part:>4}/{whole:<4} {100 * part / max(1, whole):5.1f}%"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a phoneme model (default: the bundled one)")
    parser.add_argument("--engines", default="espeak,flite,festival,pico,rhvoice,piper")
    parser.add_argument("--voices", type=int, default=2, help="voices of each engine, spread over its list")
    parser.add_argument("--pairs", choices=("test", "dev"), default="test",
                        help="the minimal pairs to read: the test ones, or the few the threshold was chosen on")
    parser.add_argument("--thresholds", type=float, nargs="+", default=[GOOD],
                        help=f"sound scores under which a sound is wrong (the app uses {GOOD:g})")
    parser.add_argument("--accent", default="en-us")
    parser.add_argument("--real", default=str(Path(__file__).resolve().parent / "real_speech"),
                        help="recordings of real people with transcripts ('' to skip)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    loaded = load_phoneme_model(args.model)
    scorer = PronunciationScorer(Recognizer(loaded, resolve_device(args.device)), args.accent)
    engines = choose_engines(args.engines.split(","), lambda line: print(line, file=sys.stderr))
    pairs = MINIMAL_PAIRS if args.pairs == "test" else DEV_PAIRS
    print(f"model {loaded.config.name}, accent {args.accent}, {len(pairs)} {args.pairs} minimal pairs, "
          f"up to {args.voices} voices per engine")
    readings: dict[str, list] = defaultdict(list)
    for engine in engines:
        voices = [v for v in engine.voices() if not engine.name == "espeak" or v.startswith(args.accent)]
        voices = voices[:: max(1, len(voices) // args.voices)][:args.voices]
        for target, word, instead in pairs:
            change = changed_sound(target, word, instead, args.accent)
            for voice in voices:
                try:
                    right = resample(*engine.speak(target, voice, 1.0, 1.0))
                    wrong = resample(*engine.speak(said(target, word, instead), voice, 1.0, 1.0))
                    readings[engine.name].append((scorer.assess(right, target), scorer.assess(wrong, target),
                                                  word, change))
                except VivavoceError as error:
                    print(f"  skipped {voice} on {target!r}: {error}", file=sys.stderr)
        print(f"  {engine.name}: {len(readings[engine.name])} pairs of readings ({', '.join(voices)})",
              file=sys.stderr, flush=True)
    real_words = []
    if args.real:
        for text_file in sorted(Path(args.real).glob("*.txt")):
            audio = text_file.with_suffix(".flac")
            if audio.exists():
                try:
                    result = scorer.assess(load_audio(audio), text_file.read_text(encoding="utf-8").strip())
                except VivavoceError as error:
                    print(f"  skipped {audio.name}: {error}", file=sys.stderr)
                    continue
                real_words += result.words
    for threshold in args.thresholds:
        print(f"\na sound scoring under {threshold:g} is wrong:")
        print(f"{'engine':<10} {'mistakes caught':>17} {'sound named':>17} {'false alarms: right readings':>29} "
              f"{'other words':>17}")
        all_t = [0] * 8
        for name, rows in readings.items():
            t = verdicts(rows, threshold)
            all_t = [a + b for a, b in zip(all_t, t)]
            print(f"{name:<10} {percent(t[0], t[1]):>17} {percent(t[2], t[3]):>17} {percent(t[4], t[5]):>29} "
                  f"{percent(t[6], t[7]):>17}")
        t = all_t
        print(f"{'all':<10} {percent(t[0], t[1]):>17} {percent(t[2], t[3]):>17} {percent(t[4], t[5]):>29} "
              f"{percent(t[6], t[7]):>17}")
        if real_words:
            flagged = sum(any(s.score < threshold for s in w.sounds) for w in real_words)
            print(f"real people ({args.real}): {percent(flagged, len(real_words))} of their words marked wrong")
    return 0


if __name__ == "__main__":
    sys.exit(main())
