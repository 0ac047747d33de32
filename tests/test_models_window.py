"""The models window: the store's models with their cards; imports in a real child process, removal, use."""

import pytest
import torch
from PySide6.QtWidgets import QMessageBox

import test_download

from app.main_window import MainWindow
from app.settings import Settings
from engine.model import Wav2Vec2
from engine.modelfolder import ModelConfig, is_model_folder, read_config, save_model_folder
from engine.presets import preset
from engine.store import models_dir, remove_leftovers
from hf_models import make_hf_ctc

IMPORT_MS = 120_000
hub, checkpoint = test_download.hub, test_download.checkpoint  # a Hugging Face Hub on 127.0.0.1, and a model on it


@pytest.fixture
def windows(qtbot, tmp_path):
    """The caption window with its models window open."""
    main = MainWindow(settings=Settings(tmp_path / "settings.ini"))
    qtbot.addWidget(main)
    main.show()
    main.fill_lists()
    main.show_models()
    return main, main.models_window


def installed(name: str) -> str:
    """Install a tiny pretrained model as ``name``."""
    torch.manual_seed(0)
    arch = preset("test")
    save_model_folder(Wav2Vec2(arch), ModelConfig("pretrained", arch, name=name), models_dir() / name,
                      card=f"# {name}\n\nA model for the models window's tests.\n")
    return name


def names(window) -> list[str]:
    return [window.list.item(i).text() for i in range(window.list.count())]


def test_the_list_shows_each_model_with_its_card_and_what_it_can_do(qtbot, tmp_path):
    installed("mine")
    main = MainWindow(settings=Settings(tmp_path / "settings.ini"))
    qtbot.addWidget(main)
    main.show_models()
    window = main.models_window

    assert names(window) == ["mine", "default  (bundled)", "phonemes-en  (bundled)"]
    card = window.card.toPlainText()
    assert "pretrained only: fine-tune it before it can transcribe" in card
    assert "A model for the models window's tests." in card and str(models_dir() / "mine") in card
    assert window.remove_button.isEnabled() and not window.use_button.isEnabled()

    window.list.setCurrentRow(1)
    card = window.card.toPlainText()
    assert "transcribes speech" in card and "bundled with Vivavoce" in card and "language model" in card
    assert "Trained on synthetic speech only" in card  # the bundled model's own card
    assert not window.remove_button.isEnabled() and window.use_button.isEnabled()
    window.list.setCurrentRow(2)
    card = window.card.toPlainText()
    assert "transcribes phonemes (for pronunciation practice)" in card
    assert not window.use_button.isEnabled()  # not for captions


def test_a_hugging_face_folder_is_imported_in_the_background_and_joins_every_list(qtbot, windows, tmp_path):
    main, window = windows
    folder = tmp_path / "wav2vec2-tiny-ctc"
    make_hf_ctc(folder, stable=True)

    window.import_folder(str(folder), "from-hub")
    assert window.busy.isVisibleTo(window) and not window.import_button.isEnabled()
    qtbot.waitUntil(lambda: window.child is None, timeout=IMPORT_MS)

    assert window.banner.kind == "info" and window.banner.text.text() == "Installed from-hub."
    assert is_model_folder(models_dir() / "from-hub") and read_config(models_dir() / "from-hub").kind == "ctc"
    assert window.current_name() == "from-hub" and "transcribes speech" in window.card.toPlainText()
    assert main.model_box.findData("from-hub") >= 0
    assert not window.busy.isVisibleTo(window) and window.import_button.isEnabled()


def test_a_folder_that_is_not_a_model_fails_in_one_line_and_installs_nothing(qtbot, windows, tmp_path):
    _, window = windows
    folder = tmp_path / "holiday-photos"
    folder.mkdir()
    (folder / "beach.jpg").write_bytes(b"\xff\xd8\xff")

    window.import_folder(str(folder), "photos")
    qtbot.waitUntil(lambda: window.child is None, timeout=IMPORT_MS)

    text = window.banner.text.text()
    assert window.banner.kind == "error" and text.startswith("The import failed: ") and "\n" not in text
    assert str(folder) in text
    assert not (models_dir() / "photos").exists() and not list(models_dir().glob(".photos*"))


def test_a_name_in_use_is_refused_before_anything_starts(windows, tmp_path):
    _, window = windows
    installed("taken")
    window.refresh()

    window.import_folder(str(tmp_path), "taken")

    assert window.child is None and "a model named 'taken' is already installed" in window.banner.text.text()


def test_a_cancelled_import_installs_nothing(qtbot, windows, tmp_path):
    _, window = windows
    folder = tmp_path / "wav2vec2-tiny-ctc"
    make_hf_ctc(folder, stable=False)

    window.import_folder(str(folder), "halfway")
    window.cancel_button.click()
    qtbot.waitUntil(lambda: window.child is None, timeout=IMPORT_MS)

    assert window.banner.text.text() == "The import of halfway was cancelled; nothing was installed."
    assert not (models_dir() / "halfway").exists() and not list(models_dir().glob(".halfway*"))


def test_what_a_killed_write_leaves_behind_is_cleared_away(data_dir):
    staging = models_dir() / ".gone.abc123.partial"
    staging.mkdir(parents=True)
    (staging / "model.safetensors").write_bytes(b"half")
    keep = models_dir() / ".other.abc123.partial"
    keep.mkdir()

    remove_leftovers("gone")

    assert not staging.exists() and keep.exists()


def test_removing_a_model_asks_first_and_takes_it_out_of_every_list(windows, monkeypatch):
    main, window = windows
    installed("old")
    window.refresh(select="old")
    main.fill_models("old")  # and chosen for captions
    asked = []

    def answer(*args):
        asked.append(args[2])
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", answer)
    window.remove_button.click()

    assert asked and "old" in asked[0]
    assert not (models_dir() / "old").exists() and "old" not in names(window)
    assert main.model_box.findData("old") < 0 and main.model_box.currentData() == "default"


def test_use_for_captions_chooses_the_model_in_the_caption_window(qtbot, windows, tmp_path):
    main, window = windows
    folder = tmp_path / "hub-model"
    make_hf_ctc(folder, stable=True)
    window.import_folder(str(folder), "chosen")
    qtbot.waitUntil(lambda: window.child is None, timeout=IMPORT_MS)
    assert main.model_box.currentData() == "default"

    window.use_button.click()

    assert main.model_box.currentData() == "chosen"


def test_a_model_is_tested_on_recordings_and_a_folder_without_transcripts_is_named(qtbot, windows, tmp_path):
    from conftest import speak

    main, window = windows
    folder = tmp_path / "held-out"
    folder.mkdir()
    for i, text in enumerate(["the children were told to put away their toys", "she noted everything"]):
        speak(text, folder / f"{i}.wav", speed=150)
        (folder / f"{i}.txt").write_text(text + "\n")
    window.refresh(select="default")

    window.test_on(str(folder))
    assert window.busy.isVisible() and "Cancel test" in window.cancel_button.text()
    qtbot.waitUntil(lambda: window.child is None, timeout=IMPORT_MS)

    message = window.banner.text.text()
    assert window.banner.kind == "info" and message.startswith(f"default on {folder}: 2 recordings, CER ")
    cer = float(message.split("CER ")[1].split("%")[0])
    assert 0 <= cer < 60  # the bundled model reads clear espeak-ng speech, if not well
    results = window.results.toPlainText()
    assert not window.results.isHidden() and "ref: the children were told to put away their toys" in results

    (tmp_path / "untranscribed").mkdir()
    speak("nothing written down", tmp_path / "untranscribed" / "a.wav")
    window.test_on(str(tmp_path / "untranscribed"))
    qtbot.waitUntil(lambda: window.child is None, timeout=IMPORT_MS)
    assert window.banner.kind == "error" and "untranscribed" in window.banner.text.text()
    assert "no recordings with transcripts" in window.banner.text.text()


def test_a_model_is_downloaded_from_the_hub_with_its_progress_shown(qtbot, windows, hub, checkpoint):
    main, window = windows
    hub.repos["someone/tiny-ctc"] = checkpoint
    hub.pace = 0.05
    values = []
    window.busy.valueChanged.connect(values.append)

    window.download("someone/tiny-ctc", "tiny-ctc")
    assert window.busy.isVisibleTo(window) and window.cancel_button.text() == "&Cancel download"
    assert not window.download_button.isEnabled() and not window.import_button.isEnabled()
    qtbot.waitUntil(lambda: window.child is None, timeout=IMPORT_MS)

    assert window.banner.kind == "info", window.banner.text.text()
    assert window.banner.text.text() == "Installed tiny-ctc, downloaded from someone/tiny-ctc."
    assert len(set(values)) > 2 and values[-1] == 1000 and values == sorted(values)  # it moved, forward only
    assert window.current_name() == "tiny-ctc" and "apache-2.0" in window.card.toPlainText()
    assert main.model_box.findData("tiny-ctc") >= 0 and window.download_button.isEnabled()


def test_a_cancelled_download_installs_nothing_and_goes_on_where_it_stopped(qtbot, windows, hub, checkpoint):
    _, window = windows
    hub.repos["someone/tiny-ctc"] = checkpoint
    hub.pace = 0.05
    window.download("someone/tiny-ctc", "later")
    qtbot.waitUntil(lambda: 0 < window.busy.value() < 1000, timeout=IMPORT_MS)
    window.cancel_button.click()
    qtbot.waitUntil(lambda: window.child is None, timeout=IMPORT_MS)
    assert window.banner.text.text() == ("The download of later was cancelled; nothing was installed. "
                                         "Downloading it again goes on from where it stopped.")
    assert not (models_dir() / "later").exists()

    hub.pace = 0.0
    window.download("someone/tiny-ctc", "later")
    qtbot.waitUntil(lambda: window.child is None, timeout=IMPORT_MS)
    assert window.banner.text.text() == "Installed later, downloaded from someone/tiny-ctc."
    ranges = [headers.get("Range") for path, headers in hub.requests if path.startswith("/cdn/")]
    assert ranges[0] is None and ranges[-1] is not None and ranges[-1].startswith("bytes=")


def test_a_download_that_fails_says_why_in_one_line(qtbot, windows, hub):
    _, window = windows
    window.download("someone/nothing", "nothing")
    qtbot.waitUntil(lambda: window.child is None, timeout=IMPORT_MS)
    text = window.banner.text.text()
    assert window.banner.kind == "error" and text.startswith("The download failed: ") and "\n" not in text
    assert f"{hub.url}/someone/nothing" in text and "HTTP 404" in text

    window.download("not a name", "x")
    assert window.child is None and "not a Hugging Face model name" in window.banner.text.text()
