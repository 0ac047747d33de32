"""Greedy CTC decoding into words with times and confidences."""

import numpy as np

from .text import TextRules, Vocabulary
from .transcript import Word


def best_path(log_probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The most likely token at each frame and its probability.

    log_probs : (frames, vocab) log-softmax scores
    Returns (ids int32 (frames,), probabilities float32 (frames,)).
    """
    ids = log_probs.argmax(axis=-1)
    probs = np.exp(np.take_along_axis(log_probs, ids[:, None], axis=-1)[:, 0])
    return ids.astype(np.int32), probs.astype(np.float32)


def collapse(ids: np.ndarray, vocab: Vocabulary) -> list[int]:
    """The tokens a best path writes: repeats merged unless a blank separates them, blanks and specials dropped."""
    out, previous = [], -1
    for index in ids.tolist():
        if index != previous and not vocab.is_silent(index):
            out.append(index)
        previous = index
    return out


def decode_words(ids: np.ndarray, probs: np.ndarray, vocab: Vocabulary, rules: TextRules,
                 frame_seconds: float, first_frame: int = 0) -> list[Word]:
    """Collapse a best path into words.

    ids, probs : per-frame token index and its probability (from `best_path`)
    frame_seconds : the time between frames (0.02 s for wav2vec 2.0)
    first_frame : the index of ``ids[0]`` in the whole stream, for absolute times

    Repeated tokens merge unless a blank separates them; the word delimiter
    (or any whitespace token) ends a word. A word runs from the first frame of
    its first character to the end of the last frame of its last character; its
    confidence is the mean over its characters of their mean frame probability.
    """
    words: list[Word] = []
    chars: list[str] = []
    char_probs: list[float] = []
    start = end = 0
    run_sum, run_len = 0.0, 0
    previous = -1

    def close_run():
        nonlocal run_sum, run_len
        if run_len:
            char_probs.append(run_sum / run_len)
            run_sum, run_len = 0.0, 0

    def close_word():
        close_run()
        text = rules.apply("".join(chars))
        if text:
            words.append(Word(text, (first_frame + start) * frame_seconds,
                              (first_frame + end + 1) * frame_seconds,
                              float(np.mean(char_probs))))
        chars.clear()
        char_probs.clear()

    for frame, (index, prob) in enumerate(zip(ids.tolist(), probs.tolist())):
        if index == previous:
            if run_len:
                run_sum += prob
                run_len += 1
                end = frame
            continue
        previous = index
        close_run()
        token = vocab.tokens[index]
        if vocab.is_silent(index):
            continue
        if vocab.is_delimiter(index) or token.isspace():
            close_word()
            continue
        if not chars:
            start = frame
        chars.append(token)
        run_sum, run_len = prob, 1
        end = frame
    close_word()
    return words
