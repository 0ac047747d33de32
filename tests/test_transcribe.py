"""`vivavoce transcribe`: real speech in any file format, out as text, SRT, VTT or JSON."""

import json
import re

import numpy as np
import pytest
import soundfile

from engine.audio import load_audio
from training.metrics import character_error_rate


def sentence(trained_model, index=0):
    folder, clips = trained_model
    path = list(clips)[index]
    return folder, path, clips[path]


@pytest.mark.parametrize("fmt,rate,channels", [("FLAC", 44100, 2), ("OGG", 48000, 1), ("MP3", 22050, 2),
                                               ("WAV", 32000, 1)])
def test_any_format_rate_and_channel_count_is_recognised(trained_model, vivavoce, tmp_path, fmt, rate,
                                                         channels):
    import torch
    import torchaudio

    folder, path, text = sentence(trained_model)
    samples = torchaudio.functional.resample(torch.from_numpy(load_audio(path)), 16000, rate).numpy()
    converted = tmp_path / f"speech.{fmt.lower()}"
    soundfile.write(converted, np.repeat(samples[:, None], channels, axis=1), rate, format=fmt)

    result = vivavoce("transcribe", converted, "--model", folder)

    assert result.returncode == 0, result.stderr
    # Rates below the 22.05 kHz the model learned from would cut off sound it relies on;
    # that they are read correctly is tests/test_audio.py's business.
    assert character_error_rate([text], [result.stdout.strip()]) < 0.10


def parse_cues(text: str, separator: str) -> list[tuple[float, float, list[str]]]:
    stamp = rf"(\d\d):(\d\d):(\d\d){separator}(\d\d\d)"
    cues = []
    for block in text.strip().split("\n\n"):
        lines = block.splitlines()
        for i, line in enumerate(lines):
            match = re.fullmatch(rf"{stamp} --> {stamp}", line)
            if match:
                h1, m1, s1, ms1, h2, m2, s2, ms2 = map(int, match.groups())
                cues.append((h1 * 3600 + m1 * 60 + s1 + ms1 / 1000, h2 * 3600 + m2 * 60 + s2 + ms2 / 1000,
                             lines[i + 1:]))
    return cues


@pytest.mark.parametrize("fmt,separator", [("srt", ","), ("vtt", r"\.")])
def test_subtitles_carry_the_words_in_timed_cues_of_at_most_two_42_character_lines(
        trained_model, vivavoce, tmp_path, fmt, separator):
    folder, path, text = sentence(trained_model)  # 43 characters: more than one line
    output = tmp_path / f"speech.{fmt}"

    result = vivavoce("transcribe", path, "--model", folder, "--format", fmt, "--output", output)

    assert result.returncode == 0, result.stderr
    written = output.read_text()
    if fmt == "vtt":
        assert written.startswith("WEBVTT")
    cues = parse_cues(written, separator)
    assert sum(len(lines) for _, _, lines in cues) >= 2
    assert all(len(lines) <= 2 and all(len(line) <= 42 for line in lines) for _, _, lines in cues)
    assert all(start < end for start, end, _ in cues)
    assert all(a[1] <= b[0] for a, b in zip(cues, cues[1:]))
    spoken = " ".join(line for _, _, lines in cues for line in lines)
    assert character_error_rate([text], [spoken]) < 0.10


def test_json_gives_words_with_times_inside_the_audio_and_confidences(trained_model, vivavoce):
    folder, path, text = sentence(trained_model, 1)

    result = vivavoce("transcribe", path, "--model", folder, "--format", "json")

    record = json.loads(result.stdout)
    assert set(record) == {"file", "model", "duration", "text", "words"}
    assert record["file"] == str(path) and record["model"] == "tiny-overfit"
    assert record["duration"] == pytest.approx(soundfile.info(path).duration, abs=0.001)
    assert record["text"] == " ".join(w["word"] for w in record["words"])
    assert character_error_rate([text], [record["text"]]) < 0.10
    for word in record["words"]:
        assert set(word) == {"word", "start", "end", "confidence"}
        assert 0 <= word["start"] < word["end"] <= record["duration"] + 0.02
        assert 0 < word["confidence"] <= 1
    starts = [w["start"] for w in record["words"]]
    assert starts == sorted(starts)


def test_several_files_into_an_output_folder(trained_model, vivavoce, tmp_path):
    folder, clips = trained_model

    result = vivavoce("transcribe", *clips, "--model", folder, "--output", tmp_path)

    assert result.returncode == 0, result.stderr
    for path, text in clips.items():
        written = (tmp_path / f"{path.stem}.txt").read_text()
        assert written.endswith("\n") and character_error_rate([text], [written.strip()]) < 0.15


def test_several_files_into_one_output_file_is_refused(trained_model, vivavoce, tmp_path):
    folder, clips = trained_model
    result = vivavoce("transcribe", *clips, "--model", folder, "--output", tmp_path / "one.txt")
    assert result.returncode == 2 and "--output" in result.stderr
