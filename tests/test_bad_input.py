"""Bad input gets one clear line naming the culprit and exit status 2, never a traceback."""

import json
import shutil

import pytest
import soundfile
import torch
from safetensors.torch import load_file, save_file

from hf_models import make_hf_ctc


def assert_user_error(result, culprit):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert str(culprit) in lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hf") / "tiny-hf"
    make_hf_ctc(folder, stable=False)
    return folder


@pytest.fixture
def broken_copy(hf_folder, tmp_path):
    """A copy of the good Hugging Face folder, to break."""
    return shutil.copytree(hf_folder, tmp_path / "broken")


@pytest.fixture
def speech(tmp_path):
    path = tmp_path / "ok.wav"
    soundfile.write(path, 0.1 * torch.randn(16000).numpy(), 16000)
    return path


def test_missing_audio_file(vivavoce, hf_folder, tmp_path):
    missing = tmp_path / "absent.wav"
    assert "no such file" in assert_user_error(vivavoce("transcribe", missing, "--model", hf_folder), missing)


def test_zero_byte_file(vivavoce, hf_folder, tmp_path):
    empty = tmp_path / "empty.wav"
    empty.touch()
    assert_user_error(vivavoce("transcribe", empty, "--model", hf_folder), empty)


def test_audio_file_with_no_samples(vivavoce, hf_folder, tmp_path):
    silent = tmp_path / "nothing.wav"
    soundfile.write(silent, torch.zeros(0).numpy(), 16000)
    assert "no audio" in assert_user_error(vivavoce("transcribe", silent, "--model", hf_folder), silent)


def test_corrupt_audio_file(vivavoce, hf_folder, speech, tmp_path):
    corrupt = tmp_path / "corrupt.wav"
    data = bytearray(speech.read_bytes())
    data[8:16] = b"GARBAGE!"  # the WAVE/fmt markers
    corrupt.write_bytes(bytes(data))
    assert_user_error(vivavoce("transcribe", corrupt, "--model", hf_folder), corrupt)


def test_file_that_is_not_audio(vivavoce, hf_folder, tmp_path):
    text = tmp_path / "notes.mp3"
    text.write_text("these are my meeting notes, not a recording\n" * 50)
    assert "not a readable audio file" in assert_user_error(
        vivavoce("transcribe", text, "--model", hf_folder), text)


def test_one_bad_file_among_good_ones_still_transcribes_the_rest(vivavoce, hf_folder, speech, tmp_path):
    missing = tmp_path / "absent.wav"
    result = vivavoce("transcribe", speech, missing, speech, "--model", hf_folder, "--format", "json")
    assert_user_error(result, missing)
    assert [json.loads(line)["file"] for line in result.stdout.splitlines()] == [str(speech)] * 2


def test_model_path_that_does_not_exist(vivavoce, speech, tmp_path):
    missing = tmp_path / "no-model-here"
    assert_user_error(vivavoce("transcribe", speech, "--model", missing), missing)


def test_model_name_that_is_not_installed(vivavoce, speech):
    assert "no such model" in assert_user_error(vivavoce("transcribe", speech, "--model", "nonesuch"),
                                                "nonesuch")


def test_model_folder_missing_its_weights(vivavoce, speech, broken_copy):
    (broken_copy / "model.safetensors").unlink()
    assert "no weights" in assert_user_error(vivavoce("transcribe", speech, "--model", broken_copy),
                                             broken_copy)


def test_model_folder_missing_its_vocabulary(vivavoce, speech, broken_copy):
    (broken_copy / "vocab.json").unlink()
    assert "vocab.json is missing" in assert_user_error(
        vivavoce("transcribe", speech, "--model", broken_copy), broken_copy)


def test_vivavoce_folder_missing_its_weights(vivavoce, speech, hf_folder, tmp_path):
    assert vivavoce("models", "import", hf_folder, "--name", "mine").returncode == 0
    from engine.store import resolve_model

    folder = shutil.copytree(resolve_model("mine"), tmp_path / "copy")
    (folder / "model.safetensors").unlink()
    assert "model.safetensors is missing" in assert_user_error(
        vivavoce("transcribe", speech, "--model", folder), folder)


def test_vocabulary_smaller_than_the_ctc_head(vivavoce, speech, broken_copy):
    vocab = json.loads((broken_copy / "vocab.json").read_text())
    vocab.pop("'")
    (broken_copy / "vocab.json").write_text(json.dumps(vocab))
    message = assert_user_error(vivavoce("transcribe", speech, "--model", broken_copy), broken_copy)
    assert "13 tokens" in message and "14 outputs" in message


def test_checkpoint_with_an_unexpected_tensor(vivavoce, speech, broken_copy):
    weights = broken_copy / "model.safetensors"
    state = load_file(weights)
    state["wav2vec2.encoder.extra_head.weight"] = torch.zeros(3)
    save_file(state, weights)
    message = assert_user_error(vivavoce("transcribe", speech, "--model", broken_copy), broken_copy)
    assert "unexpected tensors" in message and "extra_head" in message


def test_checkpoint_with_a_missing_tensor(vivavoce, speech, broken_copy):
    weights = broken_copy / "model.safetensors"
    state = load_file(weights)
    del state["wav2vec2.encoder.layers.1.final_layer_norm.bias"]
    save_file(state, weights)
    message = assert_user_error(vivavoce("transcribe", speech, "--model", broken_copy), broken_copy)
    assert "missing tensors" in message


def test_corrupt_weights_file(vivavoce, speech, broken_copy):
    weights = broken_copy / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:200])
    assert_user_error(vivavoce("transcribe", speech, "--model", broken_copy), broken_copy)


def test_failed_import_leaves_nothing_in_the_store(vivavoce, broken_copy, data_dir):
    weights = broken_copy / "model.safetensors"
    state = load_file(weights)
    state["lm_head.weight"] = state["lm_head.weight"][:, :5].contiguous()
    save_file(state, weights)

    assert_user_error(vivavoce("models", "import", broken_copy, "--name", "halfway"), broken_copy)

    models = data_dir / "models"
    assert not models.exists() or list(models.iterdir()) == []
    assert "halfway" not in vivavoce("models", "list").stdout


def test_cuda_requested_without_a_gpu(vivavoce, hf_folder, speech):
    if torch.cuda.is_available():
        pytest.skip("this computer has a GPU")
    assert "no CUDA GPU" in assert_user_error(
        vivavoce("transcribe", speech, "--model", hf_folder, "--device", "cuda"), "--device cuda")
