"""The `vivavoce` command itself: help, devices, and what it says without a model."""

import soundfile
import torch


def test_help_lists_the_commands(vivavoce):
    result = vivavoce("--help")
    assert result.returncode == 0
    assert all(command in result.stdout for command in ("gui", "caption", "transcribe", "models", "devices"))


def test_devices_lists_the_cpu_and_every_gpu(vivavoce):
    result = vivavoce("devices")
    assert result.returncode == 0
    assert "cpu" in result.stdout
    assert result.stdout.count("cuda:") == (torch.cuda.device_count() if torch.cuda.is_available() else 0)


def test_transcribing_without_a_model_says_how_to_get_one(vivavoce, tmp_path):
    audio = tmp_path / "a.wav"
    soundfile.write(audio, 0.1 * torch.randn(16000).numpy(), 16000)
    result = vivavoce("transcribe", audio)
    assert result.returncode == 2
    assert "--model" in result.stderr and "models list" in result.stderr


def test_an_unknown_option_is_a_one_line_error_with_status_2(vivavoce):
    result = vivavoce("transcribe", "x.wav", "--format", "docx")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "docx" in result.stderr
