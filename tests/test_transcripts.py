"""Caption transcripts: kept line by line as they come, read back after a crash, exported."""

import pytest

from engine.errors import VivavoceError
from engine.transcript import Word
from engine.transcripts import (TranscriptRecorder, export, list_transcripts, read_transcript,
                                render_lines, transcripts_dir)
from test_transcribe import parse_cues

SAID = [[Word("good", 0.5, 0.8, 0.9), Word("morning", 0.9, 1.4, 0.8)],
        [Word("the", 3.0, 3.1, 0.7), Word("call", 3.2, 3.6, 0.95), Word("starts", 3.7, 4.2, 0.9)]]


def record(lines=SAID, folder=None) -> TranscriptRecorder:
    recorder = TranscriptRecorder("the default microphone", "default", folder=folder)
    for words in lines:
        recorder.add(words)
    return recorder


def test_every_final_caption_is_on_disk_as_soon_as_it_is_added(data_dir):
    recorder = record(SAID[:1])
    assert recorder.path.parent == transcripts_dir() == data_dir / "transcripts"
    assert [line.text for line in read_transcript(recorder.path).lines] == ["good morning"]  # still open
    recorder.add(SAID[1])
    saved = read_transcript(recorder.path)
    recorder.close()
    assert [line.text for line in saved.lines] == ["good morning", "the call starts"]
    assert saved.source == "the default microphone" and saved.model == "default" and saved.started
    assert saved.lines[1].words == SAID[1]
    assert recorder.add([]) is None


def test_a_line_torn_by_a_crash_is_left_out_and_the_rest_is_read(data_dir):
    recorder = record()
    recorder.close()
    with open(recorder.path, "a", encoding="utf-8") as f:
        f.write('{"start": 5.0, "end": 5.5, "text": "and th')  # the power went here
    assert [line.text for line in read_transcript(recorder.path).lines] == ["good morning", "the call starts"]


def test_damage_before_the_last_line_and_other_files_are_named(data_dir, tmp_path):
    recorder = record()
    recorder.close()
    rows = recorder.path.read_text().splitlines()
    recorder.path.write_text("\n".join([rows[0], "garbage", rows[2]]) + "\n")
    with pytest.raises(VivavoceError, match=r"line 2 is not a caption"):
        read_transcript(recorder.path)
    other = tmp_path / "notes.jsonl"
    other.write_text('{"hello": 1}\n')
    with pytest.raises(VivavoceError, match="notes.jsonl: not a Vivavoce transcript"):
        read_transcript(other)


def test_sessions_are_listed_newest_first_and_never_overwrite_each_other(data_dir):
    first, second = record(), record()  # the same second: the second gets its own name
    first.close()
    second.close()
    assert first.path != second.path
    assert set(list_transcripts()) == {first.path, second.path}
    names = [p.name for p in list_transcripts()]
    assert names == sorted(names, reverse=True)


def test_exports_parse_and_a_bad_format_or_folder_is_named(data_dir, tmp_path):
    lines = read_transcript(record().path).lines
    export(lines, tmp_path / "call.srt")
    cues = parse_cues((tmp_path / "call.srt").read_text(), ",")
    assert [" ".join(text) for _, _, text in cues] == ["good morning", "the call starts"]
    assert cues[1][0] == pytest.approx(3.0) and cues[1][1] == pytest.approx(4.2)
    assert render_lines(lines, "vtt").startswith("WEBVTT\n")
    assert render_lines(lines, "txt") == "[00:00:00] good morning\n[00:00:03] the call starts\n"
    with pytest.raises(VivavoceError, match=r"call\.doc: transcripts are exported as"):
        export(lines, tmp_path / "call.doc")


def test_a_folder_that_cannot_be_made_is_named(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(VivavoceError, match=r"blocker/transcripts: cannot save the transcript there"):
        TranscriptRecorder("mic", "default", folder=blocker / "transcripts")
