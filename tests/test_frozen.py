"""The packaged app: the one-folder PyInstaller build that packaging/build.sh makes, run as a user
who has no Python would run it. It transcribes as the installed command does, opens straight
into captions of the microphone, runs training in itself as a child process, and puts itself in
the desktop's application menu."""

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import test_download
import test_synth
import test_training_window
from conftest import SINK, VIVAVOCE, pactl, run_vivavoce, speak
from engine.modelfolder import is_model_folder
from engine.store import models_dir
from engine.transcripts import list_transcripts, read_transcript
from test_default_model import CER_BOUND, SAID
from test_synth import MANIFEST, rows, synth
from test_training_window import fill, finish
from training.metrics import character_error_rate

ROOT = Path(__file__).resolve().parents[1]
# Fixtures of those modules, used here too: a small synthetic corpus, and the training window with
# recordings and quick settings.
corpus = test_synth.corpus
hub, checkpoint = test_download.hub, test_download.checkpoint  # a Hugging Face Hub on 127.0.0.1, a model on it
recordings, quick, windows = test_training_window.recordings, test_training_window.quick, test_training_window.windows


@pytest.fixture(scope="session")
def frozen(tmp_path_factory) -> Path:
    """The app built as a user downloads it (without the archive): its executable."""
    dist, work = tmp_path_factory.mktemp("dist"), tmp_path_factory.mktemp("build")
    result = subprocess.run(["bash", str(ROOT / "packaging" / "build.sh"), "--dist", str(dist), "--work", str(work),
                             "--no-archive"], capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    yield dist / "vivavoce" / "vivavoce"
    shutil.rmtree(dist)  # 6 GB: not left for pytest to keep among its last three runs
    shutil.rmtree(work)


def run_frozen(frozen: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([str(frozen), *map(str, args)], capture_output=True, text=True,
                          env=os.environ.copy(), timeout=600)


def test_the_folder_holds_the_app_alone_with_its_model_and_menu_entry(frozen):
    folder = frozen.parent
    assert sorted(path.name for path in folder.iterdir()) == ["_internal", "install-desktop.sh", "vivavoce",
                                                              "vivavoce.desktop", "vivavoce.svg"]
    internal = folder / "_internal"
    assert (internal / "assets" / "models" / "default" / "model.safetensors").is_file()
    assert (internal / "assets" / "prompts" / "en.txt").is_file()
    for test_only in ("transformers", "pytest", "piper", "onnxruntime", "triton"):
        assert not (internal / test_only).exists(), test_only
    assert run_frozen(frozen, "--version").stdout == run_vivavoce("--version").stdout != ""


def test_the_frozen_app_transcribes_as_the_installed_command_does(frozen, tmp_path):
    wav = speak(". ".join(SAID), tmp_path / "said.wav", speed=150)
    packaged = run_frozen(frozen, "transcribe", wav, "--format", "json")
    installed = run_vivavoce("transcribe", wav, "--format", "json")
    assert packaged.returncode == installed.returncode == 0, packaged.stderr
    got, expected = json.loads(packaged.stdout), json.loads(installed.stdout)
    assert got == expected and got["model"] == "default"
    assert character_error_rate([" ".join(SAID)], [got["text"]]) < CER_BOUND, got["text"]


def test_a_user_error_in_the_frozen_app_is_one_line_and_status_2(frozen, tmp_path):
    missing = tmp_path / "missing.wav"
    result = run_frozen(frozen, "transcribe", missing)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and str(missing) in result.stderr, result.stderr


def test_the_frozen_app_downloads_a_model_from_the_hub(frozen, hub, checkpoint):
    hub.repos["someone/tiny-ctc"] = checkpoint
    result = run_frozen(frozen, "models", "download", "someone/tiny-ctc")
    assert result.returncode == 0, result.stderr
    assert test_download.same_outputs("tiny-ctc", checkpoint)


def test_the_frozen_app_finds_the_audio_server(frozen, null_sink):
    listed = run_frozen(frozen, "devices")
    assert listed.returncode == 0, listed.stderr
    assert "pulse" in listed.stdout and f"system sound: {SINK}.monitor" in listed.stdout


def test_the_frozen_app_makes_the_same_synthetic_speech_in_its_worker_processes(frozen, corpus, tmp_path):
    # Two worker processes, forked from the frozen app, run the synthesisers: the corpus is the one
    # the installed command made with the same seed, byte for byte.
    out = tmp_path / "corpus"
    made = synth(lambda *args: run_frozen(frozen, *args), out, 0.01)
    assert made.returncode == 0, made.stderr
    assert (out / MANIFEST).read_text() == (corpus / MANIFEST).read_text()
    for row in rows(corpus)[:10]:
        assert (out / row["path"]).read_bytes() == (corpus / row["path"]).read_bytes()


def recording_streams() -> set[str]:
    return {line.split()[0] for line in pactl("list", "short", "source-outputs").splitlines()}


@pytest.mark.parametrize("packaged, how", [(False, "flag"), (False, "setting"), (True, "flag")],
                         ids=["installed", "installed-setting", "frozen"])
def test_the_app_opened_with_start_captions_the_microphone(request, packaged, how, null_sink, data_dir, tmp_path):
    """`vivavoce gui --start`, or `vivavoce` with "Start captions when Vivavoce opens" on: the window
    opens into captions of the default microphone (here the null sink's monitor) on the bundled
    model, and what is said is in the session's transcript."""
    program = request.getfixturevalue("frozen") if packaged else VIVAVOCE
    arguments = ["gui", "--start"] if how == "flag" else []
    if how == "setting":
        (data_dir / "settings.ini").write_text("[captions]\nstart_on_open=true\n")
    wav = speak(". ".join(SAID), tmp_path / "said.wav", speed=150)
    before = recording_streams()
    app = subprocess.Popen([str(program), *arguments], env=os.environ.copy(), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: recording_streams() - before or app.poll() is not None, 90, "microphone opened")
        assert app.poll() is None, app.stdout.read()
        time.sleep(2.5)  # PulseAudio's first block reaches a new stream 0.7-2 s after it opens
        subprocess.run(["paplay", "-d", SINK, str(wav)], check=True, timeout=60)
        said = " ".join(SAID)

        def heard() -> str:
            files = list_transcripts(data_dir / "transcripts")
            return " ".join(line.text for line in read_transcript(files[-1]).lines) if files else ""

        wait_for(lambda: character_error_rate([said], [heard()]) < CER_BOUND, 60, f"caption of {said!r}")
        assert len(list_transcripts(data_dir / "transcripts")) == 1
    finally:
        app.terminate()  # SIGTERM, as at a logout: the window closes as its close button does
        status = app.wait(30)
    assert status == 0, app.stdout.read()
    assert "geometry=" in (data_dir / "settings.ini").read_text()  # the window saved its settings on the way out


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"no {what} in {seconds} s"
        time.sleep(0.1)


def test_training_started_from_the_frozen_app_runs_in_its_own_executable(qtbot, windows, recordings, quick,
                                                                         frozen, monkeypatch):
    # The window here is this test's, but the run it starts is the packaged app's: as in the frozen
    # app, the child is sys.executable, with the subcommand and no `-m`.
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(frozen))
    main, window = windows
    fill(window, recordings, "packaged", 4, quick)
    window.start_button.click()
    assert window.running
    assert window.run.process.program() == str(frozen) and window.run.process.arguments()[0] == "train"
    finish(qtbot, window)
    assert window.state_label.text().startswith("Trained packaged: 4 steps"), window.state_label.text()
    assert is_model_folder(models_dir() / "packaged") and main.model_box.findData("packaged") >= 0


def test_install_desktop_adds_a_valid_menu_entry_that_starts_the_app(frozen, tmp_path):
    # The folder where a user unpacked the app, with a space in its path, as Exec must quote it.
    home = tmp_path / "My Apps"
    home.mkdir()
    unpacked = home / "vivavoce"
    unpacked.symlink_to(frozen.parent, target_is_directory=True)
    share = tmp_path / "share"
    environment = {**os.environ, "XDG_DATA_HOME": str(share)}
    installed = subprocess.run(["sh", str(unpacked / "install-desktop.sh")], env=environment,
                               capture_output=True, text=True, timeout=60)
    assert installed.returncode == 0, installed.stderr
    entry = share / "applications" / "vivavoce.desktop"
    icon = share / "icons" / "hicolor" / "scalable" / "apps" / "vivavoce.svg"
    assert icon.read_bytes() == (ROOT / "assets" / "vivavoce.svg").read_bytes()
    validated = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True)
    assert validated.returncode == 0 and validated.stdout == "", validated.stdout
    fields = dict(line.split("=", 1) for line in entry.read_text().splitlines() if "=" in line)
    assert fields["Icon"] == str(icon) and fields["Name"] == "Vivavoce"
    # The Exec line as a launcher reads it (string escapes first, then the quoting): the app's
    # executable in the unpacked folder, and `gui`.
    command = shlex.split(fields["Exec"].replace("\\\\", "\\"))
    assert command == [str(unpacked / "vivavoce"), "gui"]
    started = subprocess.run([command[0], "--version"], capture_output=True, text=True, timeout=60)
    assert started.returncode == 0 and started.stdout.startswith("vivavoce ")

    removed = subprocess.run(["sh", str(unpacked / "install-desktop.sh"), "--remove"], env=environment,
                             capture_output=True, text=True, timeout=60)
    assert removed.returncode == 0 and not entry.exists() and not icon.exists()
    wrong = subprocess.run(["sh", str(unpacked / "install-desktop.sh"), "--everywhere"], env=environment,
                           capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 2 and wrong.stderr.count("\n") == 1 and "--everywhere" in wrong.stderr
