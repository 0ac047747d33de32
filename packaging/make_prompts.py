"""Choose the sentences the app asks a user to read when they record their voice for training.

    .venv/bin/python packaging/make_prompts.py [--count 400] [--out assets/prompts/en.txt]

The sentences are WordNet's usage examples (Debian `wordnet-base`; WordNet's licence allows use
and redistribution with its notice, which the output's header carries). A sentence qualifies when
it is plainly readable: 6 to 14 words, no digits, abbreviations or symbols, so that what is
written is exactly what is said (its `spoken_form` is its words, lower-cased), and it is not one
of the held-out test sentences. From those, a greedy choice in the way CMU ARCTIC's prompts were
chosen: each next sentence is the one that adds the most phoneme pairs (diphones, across word
boundaries too, from espeak-ng's American English phonemes) not yet covered, per phoneme read.
So the first sentences cover the most sounds: a user who records only fifty still covers a
wide range of them.
"""

import argparse
import math
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.text import TextRules  # noqa: E402
from training.synth.text import is_held_out, sentences, spoken_form  # noqa: E402

MIN_WORDS, MAX_WORDS = 6, 14
COMMON = 8  # every word of a prompt is in at least this many of WordNet's examples
# Prompts a user is asked to read should not make them say these.
UNWELCOME = {"kill", "killed", "killing", "murder", "blood", "bloody", "terrorist", "terrorists", "drug",
             "drugs", "sex", "sexual", "rape", "suicide", "dead", "death", "die", "died", "war", "gun",
             "bomb", "nazi", "hell", "damn", "god", "jesus", "christ", "church", "catholic", "jew", "jews",
             "jewish", "muslim", "islam", "negro", "slave", "slaves", "prison", "whore", "nigger"}
_PLAIN = re.compile(r"[A-Za-z][A-Za-z ,;'?!.-]*")
_STRESS = re.compile(r"[',%=]")

HEADER = """\
# Sentences to read aloud when recording your voice for training (Vivavoce: Models > Record your
# voice). One a line, best first: packaging/make_prompts.py chose them from WordNet's usage
# examples for the most pairs of English sounds. WordNet's notice, as its licence asks:
#
"""


def wordnet_notice() -> str:
    """WordNet's licence and copyright notice, from the head of its data file, as comment lines."""
    from training.synth.text import WORDNET_DIR

    lines = []
    with open(WORDNET_DIR / "data.noun", encoding="utf-8") as data:
        for line in data:
            if not line.startswith("  "):
                break
            lines.append(("# " + line.strip().partition(" ")[2]).rstrip())
    return "\n".join(lines) + "\n"


def readable(sentence: str, counts: Counter) -> bool:
    """Plain, common words that are said as written, 6 to 14 of them, no names, nothing unwelcome,
    and not a held-out test sentence."""
    if not _PLAIN.fullmatch(sentence) or "--" in sentence or is_held_out(sentence):
        return False
    if any(word[0].isupper() and word.rstrip(",;.?!") not in ("I", "I'm", "I'd", "I'll", "I've")
           for word in sentence.split()[1:]):
        return False
    words = spoken_form(sentence).split()
    return (MIN_WORDS <= len(words) <= MAX_WORDS and " ".join(words) == TextRules().apply(sentence)
            and all(counts[w] >= COMMON and w not in UNWELCOME for w in words))


def shown(sentence: str) -> str:
    """The sentence as the app shows it: a capital letter first and a full stop at the end."""
    sentence = sentence[0].upper() + sentence[1:]
    return sentence if sentence[-1] in ".?!" else sentence + "."


def phonemes(texts: list[str]) -> list[list[str]]:
    """espeak-ng's American English phonemes of each text (Kirshenbaum-style names, stress dropped),
    with "#" between words."""
    result = subprocess.run(["espeak-ng", "-q", "-x", "--sep=_", "-v", "en-us"], input="\n".join(texts) + "\n",
                            capture_output=True, text=True, check=True)
    lines = result.stdout.splitlines()
    if len(lines) != len(texts):
        raise SystemExit(f"espeak-ng gave {len(lines)} lines for {len(texts)} sentences")
    out = []
    for line in lines:
        words = [[p for p in _STRESS.sub("", word).split("_") if p] for word in line.split()]
        out.append([p for i, word in enumerate(words) for p in (["#"] if i else []) + word])
    return out


def diphones(sequence: list[str]) -> set[tuple[str, str]]:
    pairs = set()
    last = None
    for p in sequence:
        if p == "#":
            continue
        if last is not None:
            pairs.add((last, p))
        last = p
    return pairs


def choose(candidates: list[str], count: int) -> list[str]:
    """Greedy diphone coverage: repeatedly the sentence with the most new pairs per phoneme."""
    spoken = [spoken_form(c) for c in candidates]
    sounds = phonemes(spoken)
    pairs = [diphones(s) for s in sounds]
    lengths = [max(1, sum(p != "#" for p in s)) for s in sounds]
    covered: set = set()
    chosen, left = [], set(range(len(candidates)))
    used_words: set = set()
    while left and len(chosen) < count:
        # Ties (and, once every pair is covered, every sentence) go to new words, then the text.
        best = max(left, key=lambda i: (len(pairs[i] - covered) / math.sqrt(lengths[i]),
                                        len(set(spoken[i].split()) - used_words), candidates[i]))
        left.discard(best)
        chosen.append(candidates[best])
        covered |= pairs[best]
        used_words |= set(spoken[best].split())
    print(f"{len(chosen)} sentences cover {len(covered)} of the {len(set().union(*pairs))} phoneme pairs "
          f"of {len(candidates)} candidates", file=sys.stderr)
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--out", type=Path, default=ROOT / "assets" / "prompts" / "en.txt")
    args = parser.parse_args()
    examples = sentences(("wordnet",))
    counts = Counter(w for s in examples for w in set(spoken_form(s).split()))
    candidates = sorted({shown(s) for s in examples if readable(s, counts)})
    chosen = choose(candidates, args.count)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    temporary = args.out.with_name(args.out.name + ".tmp")
    temporary.write_text(HEADER + wordnet_notice() + "".join(s + "\n" for s in chosen), encoding="utf-8")
    temporary.replace(args.out)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
