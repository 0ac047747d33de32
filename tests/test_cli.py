"""The `vivavoce` command itself: help, devices, and its errors."""

import subprocess

import torch

from conftest import VIVAVOCE, speak


def test_help_lists_the_commands(vivavoce):
    result = vivavoce("--help")
    assert result.returncode == 0
    assert all(command in result.stdout for command in ("gui", "caption", "transcribe", "models", "devices"))


def test_devices_lists_the_cpu_and_every_gpu(vivavoce):
    result = vivavoce("devices")
    assert result.returncode == 0
    assert "cpu" in result.stdout
    assert result.stdout.count("cuda:") == (torch.cuda.device_count() if torch.cuda.is_available() else 0)


def test_an_unknown_option_is_a_one_line_error_with_status_2(vivavoce):
    result = vivavoce("transcribe", "x.wav", "--format", "docx")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "docx" in result.stderr


def test_a_reader_that_stops_early_ends_it_quietly(tmp_path):
    """`vivavoce transcribe talk.wav | head`: the pipe closes before the text is written."""
    wav = speak("one two three", tmp_path / "a.wav")
    process = subprocess.Popen([str(VIVAVOCE), "transcribe", str(wav)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    process.stdout.close()
    error = process.stderr.read()
    assert process.wait(timeout=300) == 1 and error == "", error
