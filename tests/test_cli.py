"""The `vivavoce` command itself: help, devices, and its errors."""

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


def test_an_unknown_option_is_a_one_line_error_with_status_2(vivavoce):
    result = vivavoce("transcribe", "x.wav", "--format", "docx")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "docx" in result.stderr
