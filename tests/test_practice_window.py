"""The practice window: a sentence, espeak-ng reading it into a real audio server (right, then with a
learner's mistake), and the words and sounds it marks; a file scored; errors shown in the window."""

import subprocess

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from app.main_window import MainWindow
from app.practice_window import BAD_COLOR, PracticeWindow, practice_sentences
from app.settings import Settings
from conftest import SINK, speak

SENTENCE = "The ship is cheap, but the sheep is not."


def test_the_practice_sentences_are_distinct_and_each_follows_a_comment_naming_its_sounds():
    sentences = practice_sentences()
    assert len(sentences) >= 25 and len(set(sentences)) == len(sentences)
    assert sentences[0] == SENTENCE
    assert all(s[0].isupper() and s[-1] in ".?!" for s in sentences)


@pytest.fixture
def practice(qtbot, null_sink, tmp_path):
    window = PracticeWindow(Settings(tmp_path / "settings.ini"))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.listening, timeout=15_000)
    return window


def read_aloud(qtbot, window, text, tmp_path, name):
    wav = speak(text, tmp_path / f"{name}.wav", "en-us", 150)
    window.record_button.click()
    assert window.recording
    subprocess.run(["paplay", "-d", SINK, str(wav)], check=True, timeout=60)
    # No Stop pressed: the take ends itself after a pause, then it is scored.
    qtbot.waitUntil(lambda: window.result is not None, timeout=30_000)


def rows(window):
    """Each row of the table: (word with its mark, score, sounds as a screen reader reads them, the word's colour)."""
    table = window.table
    return [(table.item(r, 0).text(), table.item(r, 1).text(),
             table.item(r, 2).data(Qt.ItemDataRole.AccessibleTextRole), table.item(r, 0).foreground().color())
            for r in range(table.rowCount())]


def test_reading_the_sentence_right_scores_every_word_right(qtbot, practice, tmp_path):
    assert practice.text == SENTENCE and practice.model_box.currentData() == "phonemes-en"
    read_aloud(qtbot, practice, SENTENCE, tmp_path, "right")
    table = rows(practice)
    assert [word for word, *_ in table] == ["✓ The", "✓ ship", "✓ is", "✓ cheap", "✓ but", "✓ the", "✓ sheep",
                                            "✓ is", "✓ not"], table
    assert all(color != QColor(BAD_COLOR) for *_, color in table)
    assert "9 of 9 words right" in practice.score_label.text()
    assert f"color:{BAD_COLOR}" not in practice.sentence_label.text()
    assert practice.play_button.isEnabled() and not practice.recording


def test_a_mistake_is_marked_in_the_sentence_and_the_table(qtbot, practice, tmp_path):
    read_aloud(qtbot, practice, "The sheep is cheap, but the sheep is not.", tmp_path, "wrong")
    table = rows(practice)
    ship = table[1]
    assert ship[0] == "✗ ship" and ship[3] == QColor(BAD_COLOR)
    assert "ɪ" in ship[2] and "✗ heard iː" in ship[2]
    assert table[3][0] == "✓ cheap" and table[6][0] == "✓ sheep"  # the words said right are passed
    # The sentence shows "ship" marked, the rest as written, punctuation kept.
    html = practice.sentence_label.text()
    assert html.count(f"color:{BAD_COLOR}") == 1 and ">ship</span>" in html and "cheap," in html
    assert "8 of 9 words right" in practice.score_label.text()


def test_a_file_is_scored_and_its_own_sentence_can_be_typed(qtbot, practice, tmp_path):
    practice.sentence_box.setEditText("Thank you very much.")
    assert practice.result is None and practice.table.rowCount() == 0
    wav = speak("Thank you very much.", tmp_path / "thanks.wav", "en-us", 150)
    practice.score_file(str(wav))
    qtbot.waitUntil(lambda: practice.result is not None, timeout=30_000)
    assert [w.text for w in practice.result.words] == ["Thank", "you", "very", "much"]
    assert practice.result.score >= 70
    # The sentence, accent and model are remembered.
    practice.accent_box.setCurrentIndex(practice.accent_box.findData("en-gb"))
    practice.accent_box.activated.emit(practice.accent_box.currentIndex())
    practice.close()
    again = PracticeWindow(Settings(tmp_path / "settings.ini"))
    qtbot.addWidget(again)
    assert again.text == "Thank you very much." and again.accent == "en-gb"


def test_scoring_errors_show_in_the_window(qtbot, practice, tmp_path):
    practice.score_file(str(tmp_path / "missing.wav"))
    qtbot.waitUntil(lambda: not practice.scoring, timeout=30_000)
    assert practice.banner.isVisible() and "missing.wav" in practice.banner.text.text()
    assert practice.result is None and practice.open_button.isEnabled()
    short = speak("Yes.", tmp_path / "yes.wav")
    practice.sentence_box.setEditText("This sentence is far too long for one short word to have been a reading of "
                                      "it, however quickly it was said.")
    practice.score_file(str(short))
    qtbot.waitUntil(lambda: not practice.scoring, timeout=30_000)
    assert practice.banner.isVisible() and "too short" in practice.banner.text.text()


def test_without_a_phoneme_model_the_window_says_so(qtbot, null_sink, no_bundled_model, tmp_path):
    window = PracticeWindow(Settings(tmp_path / "settings.ini"))
    qtbot.addWidget(window)
    window.show()
    assert window.banner.isVisible() and "No phoneme model" in window.banner.text.text()
    assert not window.open_button.isEnabled() and not window.record_button.isEnabled()


def test_the_main_window_opens_it_from_the_practice_menu(qtbot, null_sink, tmp_path):
    window = MainWindow(Settings(tmp_path / "settings.ini"))
    qtbot.addWidget(window)
    action = next(a for a in window.menuBar().actions() if a.text() == "&Practice").menu().actions()[0]
    assert action.shortcut().toString() == "Ctrl+Shift+P"
    action.trigger()
    assert window.practice_window is not None and window.practice_window.isVisible()
    window.close()
    assert not window.practice_window.isVisible()


def test_hear_it_plays_the_sentence_and_play_my_take_plays_the_take(qtbot, practice, tmp_path):
    levels = []
    practice.listener.level.connect(levels.append)
    qtbot.wait(500)
    assert not levels or max(levels) < -50  # the null sink is quiet
    # Both play to the default output, the null sink, whose monitor the window listens to.
    practice.hear_button.click()
    qtbot.waitUntil(lambda: bool(levels) and max(levels) > -30, timeout=10_000)
    assert not practice.play_button.isEnabled()  # no take yet
    practice.score_file(str(speak(SENTENCE, tmp_path / "take.wav")))
    qtbot.waitUntil(lambda: practice.result is not None, timeout=30_000)
    qtbot.wait(3000)  # the sentence has ended
    levels.clear()
    practice.play_button.click()
    qtbot.waitUntil(lambda: bool(levels) and max(levels) > -30, timeout=10_000)
