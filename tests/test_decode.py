"""engine.decode: greedy CTC paths into words with times and confidences."""

import numpy as np
import pytest

from engine.decode import best_path, decode_words
from engine.text import TextRules, Vocabulary

VOCAB = Vocabulary(("<pad>", "<s>", "|", "a", "b", "c"), blank=0, delimiter="|", special=frozenset({"<s>"}))
FRAME = 0.02


def path(tokens: str) -> np.ndarray:
    """One character per frame: '-' blank, '|' delimiter, 's' the special <s>, letters themselves."""
    index = {"-": 0, "s": 1, "|": 2, "a": 3, "b": 4, "c": 5}
    return np.array([index[t] for t in tokens], dtype=np.int32)


def decode(tokens: str, probs=None, rules=TextRules("keep"), first_frame=0):
    ids = path(tokens)
    probs = np.ones(len(ids), np.float32) if probs is None else np.asarray(probs, np.float32)
    return decode_words(ids, probs, VOCAB, rules, FRAME, first_frame)


def test_repeats_merge_unless_a_blank_separates_them():
    assert [w.text for w in decode("aab-b|cc")] == ["abb", "c"]


def test_blanks_and_special_tokens_write_nothing():
    assert [w.text for w in decode("--s-a-s-b--")] == ["ab"]


def test_delimiters_split_words_and_empty_words_vanish():
    assert [w.text for w in decode("||a||b|||")] == ["a", "b"]


def test_word_times_run_from_first_to_end_of_last_character_frame():
    words = decode("--aa-b--|--c-", first_frame=100)
    assert words[0].start == pytest.approx(102 * FRAME) and words[0].end == pytest.approx(106 * FRAME)
    assert words[1].start == pytest.approx(111 * FRAME) and words[1].end == pytest.approx(112 * FRAME)


def test_confidence_is_the_mean_of_character_mean_probabilities():
    word, = decode("aab", probs=[0.9, 0.7, 0.2])
    assert word.confidence == pytest.approx(((0.9 + 0.7) / 2 + 0.2) / 2)


def test_text_rules_set_the_case_of_the_output():
    assert decode("ab|c", rules=TextRules("upper"))[0].text == "AB"


def test_best_path_takes_the_argmax_and_its_probability():
    log_probs = np.log(np.array([[0.1, 0.7, 0.2], [0.6, 0.3, 0.1]], dtype=np.float32))
    ids, probs = best_path(log_probs)
    assert ids.tolist() == [1, 0] and probs == pytest.approx([0.7, 0.6])
