"""Text for synthetic speech: sentences from the installed Debian packages, in the words a speaker says."""

import re
import unicodedata

import pytest

from engine.errors import VivavoceError
from training.synth import text
from training.synth.text import held_out, is_held_out, sentences, spoken_form, training_sentences

SAID = [
    # numbers
    ("42", "forty two"),
    ("1,234", "one thousand two hundred thirty four"),
    ("3.5", "three point five"),
    ("version 1.17.2", "version one point one seven point two"),
    ("the 48 states", "the forty eight states"),
    ("007", "zero zero seven"),
    ("-5 degrees", "minus five degrees"),
    ("one to 1,000,000", "one to one million"),
    ("3/4 of them", "three quarters of them"),
    ("won 3-2", "won three to two"),
    # ordinals
    ("21st", "twenty first"),
    ("the 2nd and 3rd", "the second and third"),
    ("his 100th birthday", "his one hundredth birthday"),
    # years and dates
    ("in 1984", "in nineteen eighty four"),
    ("2005", "two thousand five"),
    ("since 1905", "since nineteen oh five"),
    ("by 2010", "by twenty ten"),
    ("in 1900", "in nineteen hundred"),
    ("from 1939-1945", "from nineteen thirty nine to nineteen forty five"),
    ("in the 1960s and '70s", "in the nineteen sixties and seventies"),
    ("by 800 BC", "by eight hundred b c"),
    ("July 4, 1776", "july fourth seventeen seventy six"),
    ("the 4th of July", "the fourth of july"),
    ("on 3/10/87", "on march tenth eighty seven"),
    # money and percent
    ("$5", "five dollars"),
    ("$1", "one dollar"),
    ("$3.50", "three dollars fifty cents"),
    ("$0.99", "ninety nine cents"),
    ("$2 million", "two million dollars"),
    ("£2", "two pounds"),
    ("50%", "fifty percent"),
    ("2.5 %", "two point five percent"),
    # times
    ("at 3:30", "at three thirty"),
    ("at 7:05 p.m.", "at seven oh five p m"),
    ("at 10:00", "at ten o'clock"),
    ("up at 7 A.M.", "up at seven a m"),
    # abbreviations
    ("Mr. and Mrs. Smith", "mister and missus smith"),
    ("Dr. Watson", "doctor watson"),
    ("Mr Smith and Dr Who", "mister smith and doctor who"),
    ("St. Paul lived on Baker St. for years", "saint paul lived on baker street for years"),
    ("apples, pears, etc.", "apples pears et cetera"),
    ("fruit, e.g. apples, i.e. food", "fruit for example apples that is food"),
    ("Ali vs. Frazier", "ali versus frazier"),
    ("No. 5", "number five"),
    ("the U.S.A. and the BBC", "the u s a and the b b c"),
    # symbols
    ("fish & chips", "fish and chips"),
    ("2 + 2 = 4", "two plus two equals four"),
    ("C++", "c plus plus"),
    ("me @ home", "me at home"),
    ("#1 fan", "number one fan"),
    # punctuation, hyphens, apostrophes, accents
    ("a well-known fact", "a well known fact"),
    ('"Hello," she said; (quietly)!', "hello she said quietly"),
    ("Don't 'quote' me, it's the dogs' dinner...", "don't quote me it's the dogs dinner"),
    ("words -- and dashes \u2014 end", "words and dashes end"),
    ("a caf\u00e9 na\u00efvet\u00e9", "a cafe naivete"),
    ("  lots   of\tspace \n", "lots of space"),
]


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    return sentences()


@pytest.mark.parametrize("written, said", SAID, ids=[w for w, _ in SAID])
def test_spoken_form_writes_what_a_reader_says(written, said):
    assert spoken_form(written) == said


def test_spoken_form_is_lower_case_letters_and_apostrophes_one_space_apart(corpus):
    for sentence in corpus[::10] + [w for w, _ in SAID] + ["\u00bfQu\u00e9? <b>*bold*</b> |x| ~ ^ 5\u00b0"]:
        assert re.fullmatch(r"[a-z']+( [a-z']+)*", spoken_form(sentence)), sentence


def test_the_installed_packages_give_tens_of_thousands_of_sentences_from_each_source(corpus):
    assert len(corpus) > 10_000
    assert "I can breathe better when the air is clean" in corpus  # WordNet's example sentences
    assert "A celebrity is a person who is known for his well-knownness." in corpus  # fortunes
    assert "In the beginning God created the heaven and the earth." in corpus  # the Bible


def test_sentences_are_sorted_with_distinct_spoken_forms_of_3_to_30_words_and_no_digits(corpus):
    assert corpus == sorted(corpus)
    said = [spoken_form(s) for s in corpus]
    assert len(set(said)) == len(corpus)
    assert all(3 <= len(s.split()) <= 30 for s in said)
    assert not any(re.search(r"\d", s) for s in said)


def test_sentences_keep_writing_but_not_attributions_or_verse_numbers(corpus):
    assert 'A "critic" is a man who creates nothing and thereby feels qualified to judge the work of ' \
           "creative men." in corpus
    # Two attributions of two lines: "\t\t-- Addison Mizner and Oliver Herford, "The Entirely\n\t\tNew
    # Cynic's Calendar", 1905" and "-- Kendrick Frazier, ..." (unindented, the fortune's last lines).
    assert "Actresses will happen in the best regulated families." in corpus
    assert not any("Cynic's Calendar" in s or "Kendrick Frazier" in s for s in corpus)
    assert not any(re.match(r"\d?[A-Z][A-Za-z]*\d+:\d+", s) for s in corpus)


def test_sentences_leave_out_scripts_that_cannot_be_voiced(corpus):
    letters = {unicodedata.normalize("NFKD", c)[0] for c in set("".join(corpus))}
    assert {c for c in letters if not c.isascii()} <= set("\u2018\u2019\u201c\u201d\u2013\u2014\u00a3\u20ac")
    assert {c for c in letters if c.isascii() and not c.isprintable()} == set()


@pytest.fixture
def fortunes_dir(tmp_path, monkeypatch):
    """A fortunes folder in the package's layout, with the cases the reader must clean."""
    folder = tmp_path / "fortunes"
    folder.mkdir()
    (folder / "wisdom").write_text(
        'A "critic" is a man who creates nothing.  He hates all creative\n'
        "people equally.\n"
        "\t\t-- Robert Heinlein,\n"
        "\t\t   in a letter\n"
        "%\n"
        "\u1f18\u03bd \u1f00\u03c1\u03c7\u1fc7 \u1f26\u03bd \u1f41 \u03bb\u03cc\u03b3\u03bf\u03c2, "
        "as the Greek has it.\n"
        "%\n"
        "The _\bb_\bo_\bl_\bd word is underlined.\n"
        "%\n"
        "Film\tYear\tStar\n"
        "Dr. No\t1962\tSean Connery\n"
        "%\n"
        "Go ask someone who knows. [No, we won't explain it.]\n"
        "%\n"
        "(2) Never trust a computer you cannot lift.\n"
        "%\n"
        "Just one.\n")
    (folder / "wisdom.dat").write_text("This index line is not a fortune at all.\n")
    (folder / "wisdom.u8").symlink_to("wisdom")
    monkeypatch.setattr(text, "FORTUNES_DIR", folder)
    return folder


def test_fortunes_are_split_into_sentences_without_attributions_notes_tables_or_other_scripts(fortunes_dir):
    assert sentences(["fortunes"]) == [
        'A "critic" is a man who creates nothing.',
        "Go ask someone who knows.",
        "He hates all creative people equally.",
        "Never trust a computer you cannot lift.",
        "The bold word is underlined.",
    ]


def test_a_source_whose_package_is_not_installed_is_skipped(fortunes_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(text, "BIBLE_DATA", tmp_path / "absent" / "bible.data")
    assert sentences(["fortunes", "bible"]) == sentences(["fortunes"])


def test_no_installed_source_is_an_error_naming_the_packages_to_install(tmp_path, monkeypatch):
    for name in ("WORDNET_DIR", "FORTUNES_DIR", "BIBLE_DATA"):
        monkeypatch.setattr(text, name, tmp_path / "absent" / name)
    with pytest.raises(VivavoceError, match="wordnet-base, fortunes, bible-kjv-text"):
        sentences()


def test_an_unknown_source_is_an_error_naming_the_known_ones():
    with pytest.raises(VivavoceError, match="'klingon' .*wordnet, fortunes, bible"):
        sentences(["klingon"])


def test_about_one_percent_of_sentences_is_held_out(corpus):
    sample = corpus[::4]  # over 20,000 sentences: 1% +- 0.3% is more than four standard deviations
    assert 0.007 < len(held_out(sample)) / len(sample) < 0.013


def test_held_out_and_training_sentences_split_the_sentences_in_order(corpus):
    sample = corpus[::20]
    held, training = held_out(sample), training_sentences(sample)
    assert held and not set(held) & set(training)
    assert sorted(held + training) == sample
    assert held_out(sample) == held


def test_the_held_out_choice_is_fixed_by_the_spoken_form(corpus):
    # Known from the real data: a changed hash or normaliser changes this, and every model's test set.
    assert "The sun shone bright that day" in corpus and is_held_out("The sun shone bright that day")
    assert is_held_out("The sun shone bright, that day!")
    assert not is_held_out("In the beginning God created the heaven and the earth.")
