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


def test_the_hop_is_settable_and_a_bad_one_is_a_one_line_error(trained_model, vivavoce):
    folder, clips = trained_model
    clip, text = next(iter(clips.items()))
    result = vivavoce("caption", "--source", clip, "--fast", "--model", folder, "--hop", "0.1")
    assert result.returncode == 0, result.stderr
    printed = " ".join(line.split("] ", 1)[1] for line in result.stdout.splitlines())
    assert character_error_rate([text], [printed]) < 0.3

    result = vivavoce("caption", "--source", clip, "--model", folder, "--hop", "5")
    error = result.stderr.strip().splitlines()[-1]  # after argparse's usage
    assert result.returncode == 2 and "--hop" in error and "0.05 to 2" in error
