"""Model folders and the model store: save, load, import, list, inspect, remove."""

import json

import pytest
import torch
from safetensors import safe_open

from engine.errors import ModelError
from engine.model import Wav2Vec2
from engine.modelfolder import ModelConfig, load_model_folder, save_model_folder
from engine.presets import preset
from engine.store import import_model, list_models, load_model
from engine.text import TextRules, Vocabulary
from hf_models import make_hf_ctc, make_hf_pretraining


def small_model():
    torch.manual_seed(0)
    vocab = Vocabulary(("<pad>", "|", "a", "b"), blank=0)
    arch = preset("test", vocab_size=len(vocab), quantizer=False)
    config = ModelConfig("ctc", arch, vocab, TextRules("lower"), language="en", name="small")
    return Wav2Vec2(arch).eval(), config


def test_a_saved_folder_loads_back_to_the_same_outputs_without_pickle(tmp_path):
    model, config = small_model()
    folder = save_model_folder(model, config, tmp_path / "small", card="# small\n")

    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    assert json.loads((folder / "config.json").read_text())["kind"] == "ctc"
    with safe_open(folder / "model.safetensors", "pt") as weights:
        assert set(weights.keys()) == set(model.state_dict())
    loaded = load_model_folder(folder)
    audio = torch.randn(1, 8000)
    with torch.no_grad():
        assert torch.equal(loaded.model.eval().ctc_logits(audio), model.ctc_logits(audio))
    assert loaded.config.to_dict() == config.to_dict()


def test_a_failed_save_keeps_the_previous_model_and_leaves_no_partial_folder(tmp_path, monkeypatch):
    model, config = small_model()
    folder = save_model_folder(model, config, tmp_path / "small", card="# first\n")

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("safetensors.torch.save_file", disk_full)
    with pytest.raises(ModelError, match="No space left on device"):
        save_model_folder(model, config, folder, card="# second\n")

    assert (folder / "README.md").read_text() == "# first\n"
    assert [p.name for p in tmp_path.iterdir()] == ["small"]


def test_import_list_info_and_remove_through_the_command(vivavoce, tmp_path):
    make_hf_ctc(tmp_path / "hf-model", stable=True)

    imported = vivavoce("models", "import", tmp_path / "hf-model", "--name", "my-model")
    listed = vivavoce("models", "list")
    info = vivavoce("models", "info", "my-model")

    assert imported.returncode == 0, imported.stderr
    assert "my-model" in listed.stdout and "ctc" in listed.stdout
    details = json.loads(info.stdout)
    assert details["kind"] == "ctc" and details["architecture"]["pre_norm"] is True
    assert details["vocabulary"][:2] == ["<pad>", "<s>"]
    card = (load_model("my-model").path / "README.md").read_text()
    assert "Imported" in card and "pre-norm" in card

    removed = vivavoce("models", "remove", "my-model")
    assert removed.returncode == 0 and "my-model" not in vivavoce("models", "list").stdout


def test_an_imported_model_transcribes_like_the_folder_it_came_from(vivavoce, tmp_path):
    make_hf_ctc(tmp_path / "hf-model", stable=False)
    import soundfile

    audio = tmp_path / "noise.wav"
    soundfile.write(audio, 0.2 * torch.randn(32000).numpy(), 16000)
    direct = vivavoce("transcribe", audio, "--model", tmp_path / "hf-model", "--format", "json")
    assert vivavoce("models", "import", tmp_path / "hf-model").returncode == 0
    installed = vivavoce("transcribe", audio, "--model", "hf-model", "--format", "json")

    assert json.loads(direct.stdout)["words"] == json.loads(installed.stdout)["words"]


def test_a_vivavoce_folder_imports_with_its_own_card(tmp_path):
    model, config = small_model()
    save_model_folder(model, config, tmp_path / "trained", card="# trained here\n")

    entry = import_model(str(tmp_path / "trained"), "copy")

    assert (entry.path / "README.md").read_text() == "# trained here\n"
    assert [e.name for e in list_models() if not e.bundled] == ["copy"]


def test_a_model_summary_is_the_first_paragraph_of_its_card_as_it_reads(tmp_path):
    model, config = small_model()
    card = ("# small\n\nTrained on **two** voices, see [the recipe](https://example.org/r), and\n"
            "*not* on `my_recordings_v2`: import one with `vivavoce models import FOLDER`.\n\n"
            "## Figures\n\nCER 3 * 4%.\n")
    save_model_folder(model, config, tmp_path / "small", card=card)

    entry = import_model(str(tmp_path / "small"), "small")

    assert entry.summary == ("Trained on two voices, see the recipe, and not on my_recordings_v2: "
                             "import one with vivavoce models import FOLDER.")


def test_a_pretraining_checkpoint_imports_as_a_pretrained_model_that_cannot_transcribe(vivavoce, tmp_path):
    make_hf_pretraining(tmp_path / "ssl", stable=False)
    import soundfile

    audio = tmp_path / "noise.wav"
    soundfile.write(audio, 0.2 * torch.randn(16000).numpy(), 16000)

    assert vivavoce("models", "import", tmp_path / "ssl").returncode == 0
    assert load_model("ssl").config.kind == "pretrained"
    assert load_model("ssl").model.quantizer is not None
    result = vivavoce("transcribe", audio, "--model", "ssl")
    assert result.returncode == 2 and "fine-tune it first" in result.stderr


def test_a_name_already_installed_is_refused(tmp_path):
    model, config = small_model()
    save_model_folder(model, config, tmp_path / "a", card="# a\n")
    import_model(str(tmp_path / "a"), "same")
    with pytest.raises(ModelError, match="already installed"):
        import_model(str(tmp_path / "a"), "same")
