"""`vivavoce train lm`: an n-gram language model for beam-search decoding.

The estimate is interpolated modified Kneser-Ney (Chen and Goodman, 1998), the
smoothing KenLM's `lmplz` and SRILM's `-kndiscount -interpolate` use, written
in the ARPA backoff format that KenLM reads. Each order has three discounts
taken from its counts of counts; orders below the highest count how many
distinct words precede an n-gram rather than how often it occurs. Only
n-grams of the highest order that occur once are dropped (``prune``); the
backoff weights are then computed so that every context's distribution still
sums to one.

The n-grams are of a model's own tokens: its characters and the word
delimiter, from sentences normalised with its text rules, so the language
model knows exactly what the recogniser can write, and no word is out of its
vocabulary.
"""

import math
import os
import tempfile
import textwrap
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from engine.beam_search import MAX_ORDER, LanguageModelSettings
from engine.errors import VivavoceError
from engine.text import TextRules, Vocabulary

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
NO_PROBABILITY = -99.0  # what ARPA files give <s>, which is never predicted


@dataclass
class NgramModel:
    """Log10 probabilities and backoff weights by n-gram (a tuple of words), one dict per order."""

    probabilities: list[dict[tuple[str, ...], float]]
    backoffs: list[dict[tuple[str, ...], float]]

    @property
    def order(self) -> int:
        return len(self.probabilities)

    def log10_probability(self, word: str, history: tuple[str, ...]) -> float:
        """log10 p(word | history), backing off as a reader of the ARPA file would."""
        history = history[len(history) - self.order + 1:] if self.order > 1 else ()
        penalty = 0.0
        while True:
            gram = history + (word,)
            found = self.probabilities[len(gram) - 1].get(gram)
            if found is not None:
                return penalty + found
            if not history:
                return penalty + self.probabilities[0][(UNK,)]
            penalty += self.backoffs[len(history) - 1].get(history, 0.0)
            history = history[1:]


def count_ngrams(sentences: Iterable[list[str]], order: int,
                 progress: Callable[[int], None] = lambda done: None) -> list[Counter]:
    """Raw counts of every n-gram up to ``order`` in sentences padded with <s> and </s>;
    ``progress(sentences counted)`` every thousand sentences."""
    counts = [Counter() for _ in range(order)]
    for number, words in enumerate(sentences):
        if number % 1000 == 0:
            progress(number)
        padded = [BOS] + words + [EOS]
        for n in range(1, order + 1):
            counts[n - 1].update(tuple(padded[i:i + n]) for i in range(len(padded) - n + 1))
    return counts


def _adjusted_counts(counts: list[Counter]) -> list[Counter]:
    """Kneser-Ney counts: raw for the highest order and n-grams that start a sentence, otherwise
    the number of distinct words seen before the n-gram."""
    order = len(counts)
    adjusted = [Counter() for _ in range(order)]
    adjusted[-1] = counts[-1]
    for n in range(order - 1, 0, -1):
        for gram in counts[n]:
            adjusted[n - 1][gram[1:]] += 1
        for gram, count in counts[n - 1].items():
            if gram[0] == BOS and n > 1:
                adjusted[n - 1][gram] = count
    return adjusted


def _discounts(adjusted: Counter) -> tuple[float, float, float]:
    """D1, D2, D3+ of one order from its counts of counts (Chen and Goodman's estimate)."""
    of = Counter(min(count, 4) for count in adjusted.values())
    t1, t2, t3, t4 = (max(of[k], 1) for k in (1, 2, 3, 4))
    y = t1 / (t1 + 2 * t2)
    # Tiny or odd texts can give a discount out of range; keep every order some mass to back off with.
    return tuple(min(max(k - (k + 1) * y * nxt / cur, 0.1), k)
                 for k, cur, nxt in ((1, t1, t2), (2, t2, t3), (3, t3, t4)))


def estimate(counts: list[Counter], vocabulary: Iterable[str] = (), prune: bool = True) -> NgramModel:
    """Interpolated modified Kneser-Ney from ``count_ngrams``'s counts.

    ``vocabulary``: more words the model should know (each gets the share of a word never seen);
    ``prune``: drop n-grams of the highest order (above unigrams) seen only once.
    """
    order = len(counts)
    adjusted = _adjusted_counts(counts)
    words = sorted({gram[0] for gram in counts[0]} | set(vocabulary) | {UNK})
    interpolated: list[dict[tuple[str, ...], float]] = []
    for n in range(1, order + 1):
        d1, d2, d3 = _discounts(adjusted[n - 1])
        totals: dict[tuple[str, ...], list[float]] = defaultdict(lambda: [0.0, 0.0])  # sum, discount mass
        for gram, count in adjusted[n - 1].items():
            if gram == (BOS,):  # never predicted (a unigram-only model counts it raw)
                continue
            total = totals[gram[:-1]]
            total[0] += count
            total[1] += _discount(count, d1, d2, d3)
        probabilities = {}
        if n == 1:
            total, mass = totals[()]
            uniform = mass / total / (len(words) - 1)  # <s> is never predicted
            for word in words:
                count = adjusted[0].get((word,), 0)
                if word != BOS:
                    probabilities[(word,)] = (max(count - _discount(count, d1, d2, d3), 0) / total) + uniform
        else:
            lower = interpolated[-1]
            for gram, count in adjusted[n - 1].items():
                if prune and n == order and count == 1:
                    continue
                total, mass = totals[gram[:-1]]
                probabilities[gram] = ((count - _discount(count, d1, d2, d3)) / total
                                       + mass / total * lower[gram[1:]])
        interpolated.append(probabilities)
    return _to_arpa_form(interpolated)


def _discount(count: int, d1: float, d2: float, d3: float) -> float:
    return 0.0 if count == 0 else d1 if count == 1 else d2 if count == 2 else d3


def _to_arpa_form(interpolated: list[dict]) -> NgramModel:
    """Log10 probabilities and the backoff weight of each context that makes every distribution sum
    to one: bow(h) = (1 - sum of p(w|h) kept) / (1 - sum of p(w|h') for the same w)."""
    order = len(interpolated)
    backoffs: list[dict[tuple[str, ...], float]] = [{} for _ in range(order)]
    for n in range(2, order + 1):
        kept: dict[tuple[str, ...], list[float]] = defaultdict(lambda: [0.0, 0.0])
        for gram, p in interpolated[n - 1].items():
            sums = kept[gram[:-1]]
            sums[0] += p
            sums[1] += interpolated[n - 2][gram[1:]]  # complete: only the highest order is pruned
        for context, (numerator, denominator) in kept.items():
            backoffs[n - 2][context] = math.log10(max(1.0 - numerator, 1e-12) / max(1.0 - denominator, 1e-12))
    probabilities = [{gram: math.log10(p) for gram, p in level.items()} for level in interpolated]
    probabilities[0][(BOS,)] = NO_PROBABILITY
    return NgramModel(probabilities, backoffs)


def write_arpa(model: NgramModel, path: Path) -> None:
    """Write the ARPA file through a temporary file in the same folder, renamed when complete."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            f.write("\n\\data\\\n")
            for n, level in enumerate(model.probabilities, 1):
                f.write(f"ngram {n}={len(level)}\n")
            for n, level in enumerate(model.probabilities, 1):
                f.write(f"\n\\{n}-grams:\n")
                backoffs = model.backoffs[n - 1]
                for gram in sorted(level):
                    line = f"{level[gram]:.6f}\t{' '.join(gram)}"
                    if gram in backoffs:
                        line += f"\t{backoffs[gram]:.6f}"
                    f.write(line + "\n")
            f.write("\n\\end\\\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# ---- `vivavoce train lm` -----------------------------------------------------------------------

MIN_SENTENCES = 10
WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)  # tried by --tune


@dataclass
class LanguageModelReport:
    sentences: int
    ngrams: list[int]  # per order, as written
    weight: float
    tuning: list[tuple[float, float, float]]  # (weight, CER, WER) on --tune's recordings, if tuned


def _read_text_files(paths: list[str]) -> Iterator[str]:
    for name in paths:
        if not Path(name).is_file():
            raise VivavoceError(f"{name}: no such text file")
    for name in paths:
        try:
            with open(name, encoding="utf-8") as f:
                yield from (line.strip() for line in f)
        except (OSError, UnicodeDecodeError) as error:
            raise VivavoceError(f"{name}: cannot be read as UTF-8 text ({error})") from None


def packaged_sentences() -> Iterator[str]:
    """The sentences `vivavoce train synth` reads aloud, in their spoken form, but for the held-out test
    sentences (so that a model is never tested on sentences its language model has read)."""
    from .synth.text import sentences, spoken_form, training_sentences

    return (spoken_form(sentence) for sentence in training_sentences(sentences()))


def token_sequences(lines: Iterable[str], rules: TextRules, vocabulary: Vocabulary) -> Iterator[list[str]]:
    """Each line normalised by the model's text rules, as the model's tokens with the delimiter between
    words; words with a character the vocabulary lacks are left out."""
    spellable = set(vocabulary.tokens)
    for line in lines:
        words = [w for w in rules.apply(line).split() if set(w) <= spellable]
        if words:
            yield list(vocabulary.delimiter.join(words))


def train_language_model(model: str, out: str, texts: list[str], order: int = MAX_ORDER,
                         weight: float = 1.0, tune: str = "", device: str = "auto",
                         progress: Callable[[str, int, int], None] = lambda stage, done, total: None,
                         ) -> LanguageModelReport:
    """Estimate a token n-gram model from ``texts`` (files of one sentence a line; none: the packaged
    sentences) and write the model folder ``model`` with it to ``out``. With ``tune`` (recordings with
    transcripts), the weight is the one of `WEIGHTS` that gives the lowest CER on them; their
    sentences are left out of the text, so that the weight is chosen on sentences the language model
    has not read, as a user's speech will be. ``progress(stage, done, total)`` follows the work."""
    from engine.modelfolder import is_model_folder, read_config
    from engine.store import resolve_model

    if not 1 <= order <= MAX_ORDER:
        raise VivavoceError(f"--order {order}: choose 1 to {MAX_ORDER} (the most the decoder reads)")
    folder = resolve_model(model)
    if not is_model_folder(folder):
        raise VivavoceError(f"{folder}: a language model goes into a Vivavoce model folder; "
                            "import the model first (`vivavoce models import`)")
    config = read_config(folder)
    vocabulary = config.vocabulary
    if config.kind == "pretrained" or vocabulary is None or vocabulary.delimiter not in vocabulary.tokens:
        raise VivavoceError(f"{folder}: only a model that writes words (with a word delimiter in its "
                            "vocabulary) can decode with a language model")
    if texts:
        lines = list(_read_text_files(texts))
    else:
        progress("reading the packaged sentences", 0, 1)
        lines = list(packaged_sentences())
    sequences = list(token_sequences(lines, config.text, vocabulary))
    if tune:
        tuning_text = {"".join(s) for s in token_sequences((u.text for u in _labelled(tune, config.text)),
                                                            config.text, vocabulary)}
        sequences = [s for s in sequences if "".join(s) not in tuning_text]
    if len(sequences) < MIN_SENTENCES:
        source = ", ".join(texts) if texts else "the packaged sentences"
        raise VivavoceError(f"{source}: only {len(sequences)} usable sentences; a language model needs at "
                            f"least {MIN_SENTENCES}")
    estimated = estimate(count_ngrams(sequences, order,
                                      lambda done: progress("counting sentences", done, len(sequences))))
    destination = Path(out)
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        return _write(folder, config, destination, estimated, sequences, texts, order, weight, tune, device,
                      progress)
    except OSError as error:
        raise VivavoceError(f"{destination}: the model and its language model could not be written "
                            f"({error.strerror or error})") from None


def _write(folder: Path, config, destination: Path, estimated: NgramModel, sequences: list, texts: list[str],
           order: int, weight: float, tune: str, device: str, progress) -> LanguageModelReport:
    from engine.modelfolder import with_language_model

    with tempfile.TemporaryDirectory(prefix=".lm.", dir=destination.parent) as scratch:
        arpa = Path(scratch) / LanguageModelSettings.file
        write_arpa(estimated, arpa)
        tuning = []
        if tune:
            tuning = tune_weight(folder, config, arpa, tune, device, progress)
            weight = min(tuning, key=lambda row: (row[1], row[2]))[0]
        settings = LanguageModelSettings(weight=weight)
        card = _card_with_language_model(folder, texts, order, len(sequences), estimated, weight, tuning, tune)
        with_language_model(folder, destination, arpa, settings, card)
    return LanguageModelReport(len(sequences), [len(level) for level in estimated.probabilities], weight, tuning)


def tune_weight(folder: Path, config, arpa: Path, data: str, device: str,
                progress: Callable[[str, int, int], None]) -> list[tuple[float, float, float]]:
    """(weight, CER, WER) on the recordings with transcripts in ``data`` for each of `WEIGHTS`."""
    from engine.audio import AudioFile
    from engine.beam_search import BeamSearchDecoder
    from engine.decode import decode_words
    from engine.device import resolve_device
    from engine.modelfolder import load_model_folder
    from engine.recognizer import Recognizer

    from .metrics import character_error_rate, word_error_rate

    recognizer = Recognizer(load_model_folder(folder), resolve_device(device), language_model=False)
    labelled = _labelled(data, config.text)
    scores, references = [], [config.text.apply(u.text) for u in labelled]
    for i, utterance in enumerate(labelled):
        progress("recognising the tuning recordings", i, len(labelled))
        with AudioFile(utterance.path) as audio:
            scores.append(recognizer.log_probs(audio.read(0, audio.num_samples)))
    decoder = BeamSearchDecoder(arpa, config.vocabulary, LanguageModelSettings())
    rows = []
    for i, weight in enumerate(WEIGHTS):
        progress("trying weights", i, len(WEIGHTS))
        search = decoder.variant(weight=weight)
        hypotheses = [" ".join(w.text for w in decode_words(*search.best_path(s), config.vocabulary, config.text,
                                                            recognizer.frame_seconds)) for s in scores]
        rows.append((weight, character_error_rate(references, hypotheses), word_error_rate(references, hypotheses)))
    return rows


def _labelled(data: str, rules: TextRules) -> list:
    from .data import scan

    labelled = [u for u in scan(data).labelled if rules.apply(u.text)]
    if not labelled:
        raise VivavoceError(f"{data}: no recordings with transcripts to tune the language model on")
    return labelled


def _card_with_language_model(folder: Path, texts: list[str], order: int, sentences: int, estimated: NgramModel,
                              weight: float, tuning: list, tune: str) -> str:
    """The folder's model card with a section on its language model, in place of an earlier one."""
    card_file = folder / "README.md"
    card = card_file.read_text(encoding="utf-8") if card_file.is_file() else f"# {folder.name}\n"
    source = ", ".join(f"`{t}`" for t in texts) if texts else (
        "the sentences `vivavoce train synth` reads (WordNet's examples, `fortunes`, the King James Bible), "
        "in their spoken form and without the held-out test sentences")
    counts = ", ".join(f"{n:,} {i}-grams" for i, n in enumerate((len(p) for p in estimated.probabilities), 1))
    text = (f"Beam search decodes with a {order}-gram model of the model's characters and word boundaries "
            f"(interpolated modified Kneser-Ney, made by `vivavoce train lm`), estimated from {sentences:,} "
            f"sentences: {source}. It holds {counts}. Its weight in the search is {weight:g}")
    if tuning:
        text += f", the one with the lowest CER on `{tune}` (whose sentences the language model did not read):"
    lines = [CARD_SECTION, "", textwrap.fill(text if tuning else text + ".", width=95)]
    if tuning:
        lines += ["", "| weight | CER | WER |", "| --- | --- | --- |"]
        lines += [f"| {w:g} | {100 * c:.1f}% | {100 * e:.1f}% |" for w, c, e in tuning]
    section = "\n".join(lines) + "\n"
    if f"\n{CARD_SECTION}\n" not in card:
        return card.rstrip("\n") + "\n\n" + section
    before, after = card.split(f"\n{CARD_SECTION}\n", 1)
    rest = after.split("\n## ", 1)
    return before + "\n" + section + ("\n## " + rest[1] if len(rest) > 1 else "")


CARD_SECTION = "## Language model"
