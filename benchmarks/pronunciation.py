"""How far a learner can trust the pronunciation verdicts: mistakes caught, right words passed.

    .venv/bin/python benchmarks/pronunciation.py [--model phonemes-en] [--engines espeak,flite,...]
        [--real benchmarks/real_speech] [--accent en-us]

A mistake is simulated the way a learner makes it: a synthesiser reads the
sentence with one word swapped for its minimal pair ("The sheep is cheap" for
"The ship is cheap": one sound changed, the classic errors of learners of
English). Each of these sentences is read by every voice of each engine, right
and with the mistake, and scored against the target sentence. Reported per
engine:

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
from engine.pronounce import PronunciationScorer
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a phoneme model (default: the bundled one)")
    parser.add_argument("--engines", default="espeak,flite,festival,pico,rhvoice,piper")
    parser.add_argument("--voices", type=int, default=2, help="voices of each engine (the first ones listed)")
    parser.add_argument("--accent", default="en-us")
    parser.add_argument("--real", default=str(Path(__file__).resolve().parent / "real_speech"))
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    loaded = load_phoneme_model(args.model)
    scorer = PronunciationScorer(Recognizer(loaded, resolve_device(args.device)), args.accent)
    engines = choose_engines(args.engines.split(","), lambda line: print(line, file=sys.stderr))
    print(f"model {loaded.config.name}, accent {args.accent}, {len(MINIMAL_PAIRS)} minimal pairs")
    # caught, named, right-reading words flagged, right-reading words, other words flagged, other words,
    # readings with a mistake, caught ones whose pair differs in exactly one sound
    totals: dict[str, list] = defaultdict(lambda: [0] * 8)
    header = f"{'engine':<10} {'caught':>14} {'named':>14} {'false alarms (right readings)':>30} {'(other words)':>16}"
    print(header)
    for engine in engines:
        voices = [v for v in engine.voices() if not engine.name == "espeak" or v.startswith(args.accent)]
        voices = voices[:: max(1, len(voices) // args.voices)][:args.voices]
        t = totals[engine.name]
        for target, word, instead in MINIMAL_PAIRS:
            change = changed_sound(target, word, instead, args.accent)
            for voice in voices:
                try:
                    right = resample(*engine.speak(target, voice, 1.0, 1.0))
                    wrong = resample(*engine.speak(said(target, word, instead), voice, 1.0, 1.0))
                    good = scorer.assess(right, target)
                    bad = scorer.assess(wrong, target)
                except VivavoceError as error:
                    print(f"  skipped {voice} on {target!r}: {error}", file=sys.stderr)
                    continue
                t[2] += sum(not w.good for w in good.words)
                t[3] += len(good.words)
                others = [w for w in bad.words if w.text != word]
                t[4] += sum(not w.good for w in others)
                t[5] += len(others)
                swapped = next(w for w in bad.words if w.text == word)
                t[0] += not swapped.good
                t[6] += 1
                if not swapped.good and change is not None:
                    t[7] += 1
                    index, _, spoken = change
                    sound = swapped.sounds[index] if index < len(swapped.sounds) else None
                    t[1] += bool(sound is not None and not sound.good and sound.heard == spoken)
        n = max(1, t[6])
        print(f"{engine.name:<10} {t[0]:>4}/{t[6]:<3} {100 * t[0] / n:4.0f}% {t[1]:>4}/{t[7]:<3} "
              f"{100 * t[1] / max(1, t[7]):4.0f}% {t[2]:>6}/{t[3]:<5} {100 * t[2] / max(1, t[3]):5.1f}%"
              f"{'':>11} {t[4]:>5}/{t[5]:<5} {100 * t[4] / max(1, t[5]):4.1f}%", flush=True)
    if args.real:
        flagged = words = 0
        real = Path(args.real)
        for text_file in sorted(real.glob("*.txt")):
            audio = text_file.with_suffix(".flac")
            if not audio.exists():
                continue
            try:
                result = scorer.assess(load_audio(audio), text_file.read_text(encoding="utf-8").strip())
            except VivavoceError as error:
                print(f"  skipped {audio.name}: {error}", file=sys.stderr)
                continue
            flagged += sum(not w.good for w in result.words)
            words += len(result.words)
        print(f"real people ({real}): {flagged}/{words} words marked wrong, "
              f"{100 * flagged / max(1, words):.1f}% false alarms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
