"""`vivavoce caption`: live captions in the terminal (here from a file; tests/test_capture.py records for real)."""

from test_transcribe import parse_cues
from training.metrics import character_error_rate


def test_captions_of_a_file_are_printed_and_saved_as_subtitles(trained_model, vivavoce, tmp_path):
    folder, clips = trained_model
    clip, text = next(iter(clips.items()))
    saved = tmp_path / "live.srt"

    result = vivavoce("caption", "--source", clip, "--fast", "--model", folder, "--save", saved)

    assert result.returncode == 0, result.stderr
    printed = " ".join(line.split("] ", 1)[1] for line in result.stdout.splitlines())
    assert character_error_rate([text], [printed]) < 0.3
    cues = parse_cues(saved.read_text(), ",")
    assert cues and " ".join(" ".join(lines) for _, _, lines in cues) == printed
