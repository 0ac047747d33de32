"""engine.formats: transcripts as TXT, SRT, WebVTT and JSON, written whole or not at all."""

import html
import json
import os
import re

import pytest

from engine.errors import VivavoceError
from engine.formats import FORMATS, atomic_write_text, make_cues, render, to_json_record, to_srt, to_txt, to_vtt
from engine.transcript import Transcript, Word

SPEECH = (
    "so the committee met on tuesday to talk about the budget for next year and nobody could agree "
    "on anything at all until the chair suggested that we simply postpone the whole question"
)


def spoken(text: str, word_seconds: float = 0.3, gap: float = 0.05, pauses: dict[int, float] | None = None) -> Transcript:
    """A transcript of ``text`` spoken evenly, with ``pauses[i]`` extra seconds of silence before word i."""
    words, time = [], 0.0
    for index, token in enumerate(text.split()):
        time += (pauses or {}).get(index, 0.0)
        words.append(Word(token, time, time + word_seconds, 0.9))
        time += word_seconds + gap
    return Transcript(words, duration=time)


def parse_cues(blocks: list[str], separator: str, numbered: bool) -> list[tuple[float, float, list[str]]]:
    """(start, end, lines) of each SRT or WebVTT cue block, times in seconds."""
    stamp = rf"(\d\d):(\d\d):(\d\d){re.escape(separator)}(\d\d\d)"
    cues = []
    for number, block in enumerate(blocks, start=1):
        lines = block.split("\n")
        if numbered:
            assert lines.pop(0) == str(number)
        h1, m1, s1, ms1, h2, m2, s2, ms2 = map(int, re.fullmatch(f"{stamp} --> {stamp}", lines[0]).groups())
        cues.append((h1 * 3600 + m1 * 60 + s1 + ms1 / 1000, h2 * 3600 + m2 * 60 + s2 + ms2 / 1000, lines[1:]))
    return cues


def parse_srt(text: str) -> list[tuple[float, float, list[str]]]:
    return parse_cues(text.rstrip("\n").split("\n\n"), separator=",", numbered=True)


def parse_vtt(text: str) -> list[tuple[float, float, list[str]]]:
    header, *blocks = text.rstrip("\n").split("\n\n")
    assert header == "WEBVTT"
    cues = parse_cues(blocks, separator=".", numbered=False)
    for _, _, lines in cues:
        assert not any(re.search(r"[<>]|&(?!amp;|lt;|gt;)", line) for line in lines), "unescaped markup"
        lines[:] = [html.unescape(line) for line in lines]
    return cues


def assert_readable_captions(cues, transcript):
    assert " ".join(" ".join(lines) for _, _, lines in cues) == transcript.text
    assert all(1 <= len(lines) <= 2 for _, _, lines in cues)
    assert all(len(line) <= 42 for _, _, lines in cues for line in lines)
    times = [time for start, end, _ in cues for time in (start, end)]
    assert times == sorted(times)


def test_txt_is_the_text_on_one_line():
    assert to_txt(spoken("hello there")) == "hello there\n"


@pytest.mark.parametrize("pauses", [{}, {5: 2.0, 6: 0.4, 20: 3.0}])
def test_srt_parses_back_to_numbered_readable_captions_of_the_whole_text(pauses):
    transcript = spoken(SPEECH, pauses=pauses)

    assert_readable_captions(parse_srt(to_srt(transcript)), transcript)


@pytest.mark.parametrize("pauses", [{}, {5: 2.0, 6: 0.4, 20: 3.0}])
def test_vtt_parses_back_to_readable_captions_of_the_whole_text(pauses):
    transcript = spoken(SPEECH, pauses=pauses)

    assert_readable_captions(parse_vtt(to_vtt(transcript)), transcript)


def test_vtt_escapes_what_webvtt_reads_as_markup():
    transcript = spoken("research & development <beta> release")

    assert_readable_captions(parse_vtt(to_vtt(transcript)), transcript)


def test_times_are_hours_minutes_seconds_and_milliseconds():
    transcript = Transcript([Word("late", 3725.5, 3726.0004, 0.8)], duration=3727.0)

    assert to_srt(transcript) == "1\n01:02:05,500 --> 01:02:06,000\nlate\n"
    assert to_vtt(transcript) == "WEBVTT\n\n01:02:05.500 --> 01:02:06.000\nlate\n"


def test_a_pause_longer_than_max_gap_starts_a_new_cue():
    transcript = spoken("one two three four", pauses={2: 1.6})

    cues = make_cues(transcript.words)

    assert [cue.lines for cue in cues] == [["one two"], ["three four"]]


def test_a_pause_of_max_gap_or_less_stays_in_the_cue():
    transcript = spoken("one two three four", pauses={2: 1.4})

    assert [cue.lines for cue in make_cues(transcript.words)] == [["one two three four"]]


def test_a_cue_with_several_words_lasts_at_most_max_duration():
    transcript = spoken(SPEECH, word_seconds=0.9)

    cues = make_cues(transcript.words, max_duration=6.0)

    assert len(cues) > 1
    assert all(cue.end - cue.start <= 6.0 for cue in cues)


def test_a_word_longer_than_a_line_gets_a_line_of_its_own_unsplit():
    long_word = "pneumonoultramicroscopicsilicovolcanoconiosis-like"
    transcript = spoken(f"a {long_word} b")

    lines = [line for cue in make_cues(transcript.words) for line in cue.lines]

    assert lines == ["a", long_word, "b"]


def test_two_line_cues_are_balanced():
    transcript = spoken("the quick brown fox jumps over the lazy dog and then runs far away")

    (cue,) = make_cues(transcript.words)

    assert cue.lines == ["the quick brown fox jumps over the", "lazy dog and then runs far away"]


def test_a_cue_never_ends_before_it_starts():
    transcript = Transcript([Word("glitch", 2.0, 1.5, 0.4)], duration=3.0)

    (cue,) = make_cues(transcript.words)

    assert (cue.start, cue.end) == (2.0, 2.0)


def test_no_words_make_no_cues():
    assert to_srt(Transcript()) == ""
    assert to_vtt(Transcript()) == "WEBVTT\n"


def test_json_record_has_exactly_the_documented_fields_in_seconds():
    transcript = Transcript([Word("café", 0.12345, 0.5004, 0.98765), Word("au", 0.6, 0.7, 1.0)], duration=1.23456)

    assert to_json_record(transcript, "talk.wav", "default") == {
        "file": "talk.wav",
        "model": "default",
        "duration": 1.235,
        "text": "café au",
        "words": [
            {"word": "café", "start": 0.123, "end": 0.5, "confidence": 0.988},
            {"word": "au", "start": 0.6, "end": 0.7, "confidence": 1.0},
        ],
    }


def test_render_json_is_one_line_of_unescaped_unicode():
    transcript = spoken("café crème")

    rendered = render(transcript, "json", "talk.wav", "default")

    assert rendered.endswith("}\n") and rendered.count("\n") == 1
    assert "café crème" in rendered
    assert json.loads(rendered) == to_json_record(transcript, "talk.wav", "default")


def test_render_gives_each_format():
    transcript = spoken(SPEECH)
    renderings = {fmt: render(transcript, fmt, "talk.wav", "default") for fmt in FORMATS}

    assert renderings == {
        "txt": to_txt(transcript),
        "srt": to_srt(transcript),
        "vtt": to_vtt(transcript),
        "json": json.dumps(to_json_record(transcript, "talk.wav", "default"), ensure_ascii=False) + "\n",
    }


def test_render_rejects_an_unknown_format():
    with pytest.raises(ValueError, match="docx"):
        render(spoken("hi"), "docx", "talk.wav", "default")


def test_atomic_write_writes_utf8_and_replaces_the_old_file(tmp_path):
    target = tmp_path / "talk.srt"
    target.write_text("old\n")

    atomic_write_text(target, "café\n")

    assert target.read_bytes() == "café\n".encode()
    assert os.listdir(tmp_path) == ["talk.srt"]


def test_atomic_write_gives_the_permissions_of_any_new_file(tmp_path):
    umask = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "talk.txt", "hi\n")
    finally:
        os.umask(umask)

    assert (tmp_path / "talk.txt").stat().st_mode & 0o777 == 0o644


def test_atomic_write_into_a_missing_folder_names_the_file_and_the_folder(tmp_path):
    target = tmp_path / "gone" / "talk.srt"

    with pytest.raises(VivavoceError) as error:
        atomic_write_text(target, "text\n")

    assert str(error.value) == f"{target}: cannot write (the folder {tmp_path / 'gone'} does not exist)"
    assert os.listdir(tmp_path) == []


def test_atomic_write_that_fails_at_the_last_step_leaves_no_temporary(tmp_path):
    target = tmp_path / "talk.srt"
    target.mkdir()  # a folder where the file should go: os.replace refuses it

    with pytest.raises(VivavoceError) as error:
        atomic_write_text(target, "text\n")

    assert str(error.value).startswith(f"{target}: cannot write (")
    assert "\n" not in str(error.value)
    assert os.listdir(tmp_path) == ["talk.srt"] and target.is_dir()


def test_atomic_write_that_fails_midway_leaves_the_old_file_whole(tmp_path):
    target = tmp_path / "talk.txt"
    target.write_text("the previous transcript\n")

    with pytest.raises(UnicodeEncodeError):
        atomic_write_text(target, "x" * 100_000 + "\ud800")  # a lone surrogate: not encodable

    assert target.read_text() == "the previous transcript\n"
    assert os.listdir(tmp_path) == ["talk.txt"]
