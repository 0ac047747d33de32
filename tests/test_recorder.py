"""Record your voice: the bundled sentences, a recording set on disk, and the window recording real
speech played through a PulseAudio null sink, then training on it."""

import subprocess

import numpy as np
import pytest
import soundfile
import torch
import torchaudio

from app.main_window import MainWindow
from app.recorder_window import RecorderWindow
from app.settings import Settings
from conftest import SINK, speak
from engine.store import models_dir
from test_capture import similarity
from test_training_window import FINETUNE, RUN_MS
from engine.errors import VivavoceError
from engine.text import TextRules
from training.data import scan
from training.recording_set import (LEAD_SECONDS, SENTENCES, TAIL_SECONDS, RecordingSet, bundled_prompts,
                                    check_take, recordings_dir, speech_span, trimmed)
from training.synth.text import is_held_out, spoken_form

RATE = 16000


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> np.ndarray:
    """A sentence of espeak-ng speech at 16 kHz, peaking at half of full scale."""
    path = speak("The children were told to put away their toys", tmp_path_factory.mktemp("speech") / "s.wav")
    samples, rate = soundfile.read(path, dtype="float32")
    samples = torchaudio.functional.resample(torch.from_numpy(samples), rate, RATE).numpy()
    return 0.5 * samples / np.abs(samples).max()


def silence(seconds: float, level: float = 1e-4) -> np.ndarray:
    return (level * np.random.default_rng(0).standard_normal(int(seconds * RATE))).astype(np.float32)


# -- the sentences --------------------------------------------------------------------------------

def test_the_bundled_sentences_are_plain_distinct_readable_and_not_test_sentences():
    sentences = bundled_prompts()
    assert len(sentences) == 400 and len(set(sentences)) == 400
    rules = TextRules()
    for sentence in sentences:
        words = rules.apply(sentence).split()
        assert 6 <= len(words) <= 14, sentence
        # Said exactly as written: the transcript needs no numbers or abbreviations spelled out.
        assert spoken_form(sentence) == " ".join(words), sentence
        assert set(" ".join(words)) <= set("abcdefghijklmnopqrstuvwxyz' "), sentence
        assert not is_held_out(sentence), sentence
        assert sentence[0].isupper() and sentence[-1] in ".?!", sentence


def test_the_bundled_sentences_carry_wordnets_notice():
    import importlib.resources

    text = (importlib.resources.files("assets") / "prompts" / "en.txt").read_text(encoding="utf-8")
    assert "WordNet 3.0 Copyright 2006 by Princeton University" in text
    assert "Permission to use, copy, modify and distribute" in text


# -- takes ----------------------------------------------------------------------------------------

def test_a_take_is_cut_to_its_speech_with_a_little_silence_kept(speech):
    take = np.concatenate([silence(2.0), speech, silence(3.0)])
    start, end = speech_span(take)
    inner = speech_span(speech)  # espeak-ng's file has silence of its own at either end
    assert abs(start - (2 * RATE + inner[0])) <= 320 and abs(end - (2 * RATE + inner[1])) <= 320
    assert (inner[1] - inner[0]) / RATE > 1.5
    cut = trimmed(take)
    expected = (end - start) / RATE + LEAD_SECONDS + TAIL_SECONDS
    assert abs(len(cut) / RATE - expected) < 0.02
    assert check_take(take) == (True, "")


def test_silence_is_not_kept_and_loud_or_quiet_takes_are_kept_with_advice(speech):
    assert check_take(silence(3.0))[0] is False
    assert "Nothing was heard" in check_take(silence(3.0, level=0.0))[1]
    assert check_take(np.zeros(0, dtype=np.float32))[0] is False
    keep, advice = check_take(np.clip(4 * speech, -1, 1))
    assert keep and "clipped" in advice
    keep, advice = check_take(speech * 0.01)
    assert keep and "quiet" in advice


# -- the set on disk --------------------------------------------------------------------------------

def test_a_set_saves_takes_as_training_reads_them_and_finds_the_next_unrecorded(tmp_path, speech):
    recordings = RecordingSet(tmp_path / "voice")
    assert recordings.sentences == bundled_prompts() and not (tmp_path / "voice").exists()
    assert recordings.next_unrecorded() == 0
    recordings.save(0, speech)
    recordings.save(2, speech)
    assert recordings.recorded_indices() == [0, 2]
    assert recordings.next_unrecorded() == 1 and recordings.next_unrecorded(1) == 3
    assert abs(recordings.seconds() - 2 * len(speech) / RATE) < 0.01
    info = soundfile.info(str(recordings.audio(2)))
    assert (info.samplerate, info.channels, info.subtype) == (RATE, 1, "PCM_16")
    # No temporary files left; the list of sentences is kept with the set, hidden from training.
    assert sorted(p.name for p in (tmp_path / "voice").iterdir()) == [SENTENCES, "0001.txt", "0001.wav",
                                                                      "0003.txt", "0003.wav"]
    corpus = scan(tmp_path / "voice")
    assert [(u.path.name, u.text) for u in corpus.labelled] == [("0001.wav", recordings.sentences[0]),
                                                                ("0003.wav", recordings.sentences[2])]
    assert not corpus.unreadable and not corpus.without_text and not corpus.text_without_audio
    # Opened again, the set is the same.
    again = RecordingSet(tmp_path / "voice")
    assert again.sentences == recordings.sentences and again.recorded_indices() == [0, 2]


def test_own_sentences_replace_the_bundled_ones_until_something_is_recorded_then_are_added(tmp_path, speech):
    recordings = RecordingSet(tmp_path / "voice")
    assert recordings.add_sentences(["Bore da.", "Sut mae?", "Bore da."]) == 2
    assert recordings.sentences == ["Bore da.", "Sut mae?"]
    recordings.save(1, speech)
    assert recordings.add_sentences(["Sut mae?", "Diolch yn fawr."]) == 1
    assert RecordingSet(tmp_path / "voice").sentences == ["Bore da.", "Sut mae?", "Diolch yn fawr."]
    assert recordings.transcript(1).read_text() == "Sut mae?\n"


def test_a_set_that_cannot_be_written_says_which_folder(tmp_path, speech):
    (tmp_path / "blocked").write_text("a file where the set's folder would be")
    with pytest.raises(VivavoceError, match="blocked"):
        RecordingSet(tmp_path / "blocked" / "voice").save(0, speech)


# -- the window, with real audio ------------------------------------------------------------------------

@pytest.fixture
def recorder(qtbot, null_sink, tmp_path):
    window = RecorderWindow(Settings(tmp_path / "settings.ini"))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.listening, timeout=15_000)
    return window


def read_aloud(qtbot, window: RecorderWindow, tmp_path) -> int:
    """Record the shown sentence as espeak-ng reads it into the null sink; the index recorded."""
    index = window.index
    wav = speak(window.set.sentences[index], tmp_path / f"read{index}.wav")
    window.record_button.click()
    assert window.recording
    subprocess.run(["paplay", "-d", SINK, str(wav)], check=True, timeout=60)
    qtbot.wait(300)
    window.record_button.click()
    qtbot.waitUntil(lambda: not window.recording, timeout=10_000)
    return index


def test_reading_sentences_aloud_saves_each_with_its_transcript_and_moves_on(qtbot, recorder, tmp_path):
    levels = []
    recorder.listener.level.connect(levels.append)
    first = read_aloud(qtbot, recorder, tmp_path)
    assert first == 0 and recorder.index == 1
    assert recorder.note_label.text().startswith("Saved sentence 1")
    assert max(levels) > -30  # the level bar heard the speech
    folder = recordings_dir() / "my-voice"
    assert (folder / "0001.txt").read_text() == bundled_prompts()[0] + "\n"
    samples, rate = soundfile.read(folder / "0001.wav", dtype="float32")
    reference, reference_rate = soundfile.read(tmp_path / "read0.wav", dtype="float32")
    reference = torchaudio.functional.resample(torch.from_numpy(reference), reference_rate, RATE).numpy()
    # What was played, whole, cut close: espeak-ng's speech and the kept margins.
    start, end = speech_span(reference)
    assert rate == RATE and similarity(reference[start:end], samples) > 0.9
    assert (end - start) / RATE < len(samples) / RATE < (end - start) / RATE + LEAD_SECONDS + TAIL_SECONDS + 0.1
    read_aloud(qtbot, recorder, tmp_path)
    assert recorder.set.recorded_indices() == [0, 1] and recorder.index == 2
    assert recorder.total_label.text().startswith("2 recorded")
    # Back to the first: it says it is recorded and can be played.
    recorder.previous_button.click()
    recorder.previous_button.click()
    assert "recorded ✓" in recorder.position_label.text() and recorder.play_button.isEnabled()
    assert recorder.record_button.text().replace("&", "") == "● Re-record"
    # Play sends it to the default output: the null sink, whose monitor the window listens to.
    qtbot.wait(300)
    levels.clear()
    recorder.play_button.click()
    qtbot.waitUntil(lambda: bool(levels) and max(levels) > -30, timeout=10_000)
    # Delete removes the take; the sentence is to record again.
    recorder.next_button.click()
    recorder.delete_button.click()
    assert recorder.set.recorded_indices() == [0] and not (folder / "0002.txt").exists()
    assert "Deleted" in recorder.note_label.text() and not recorder.delete_button.isEnabled()
    recorder.previous_button.click()
    # A new window on the same set goes on at the first sentence not recorded (the deleted one).
    recorder.close()
    again = RecorderWindow(Settings(tmp_path / "settings.ini"))
    qtbot.addWidget(again)
    assert again.set.name == "my-voice" and again.index == 1


def test_moving_on_while_recording_drops_the_take_and_silence_is_not_saved(qtbot, recorder):
    recorder.record_button.click()
    qtbot.wait(500)
    recorder.next_button.click()
    assert not recorder.recording and recorder.index == 1
    qtbot.wait(500)
    recorder.record_button.click()
    qtbot.wait(1500)  # nothing plays into the sink: silence
    recorder.record_button.click()
    qtbot.waitUntil(lambda: not recorder.recording, timeout=10_000)
    assert "Nothing was heard" in recorder.note_label.text()
    assert not (recordings_dir() / "my-voice").exists()


def test_a_microphone_that_cannot_be_opened_is_named_in_the_window(qtbot, null_sink, tmp_path):
    settings = Settings(tmp_path / "settings.ini")
    settings.set("recorder/input_device", "Vivavoce Test Microphone 9")
    window = RecorderWindow(settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=15_000)
    assert "Vivavoce Test Microphone 9" in window.banner.text.text()
    assert not window.record_button.isEnabled()


def test_a_set_name_that_is_a_path_is_refused(qtbot, null_sink, tmp_path):
    window = RecorderWindow(Settings(tmp_path / "settings.ini"))
    qtbot.addWidget(window)
    window.set_box.setEditText(str(tmp_path))
    window.set_box.lineEdit().editingFinished.emit()
    assert not window.banner.isHidden() and "letters, digits" in window.banner.text.text()
    assert window.set.name == "my-voice" and window.set_box.currentText() == "my-voice"
    assert not (tmp_path / SENTENCES).exists()


def test_the_recordings_train_a_model_from_the_training_window(qtbot, null_sink, tmp_path, starter):
    main = MainWindow(settings=Settings(tmp_path / "settings.ini"))
    qtbot.addWidget(main)
    main.show()
    main.fill_lists()
    main.show_recorder()
    recorder = main.recorder_window
    qtbot.waitUntil(lambda: recorder.listening, timeout=15_000)
    for _ in range(4):
        read_aloud(qtbot, recorder, tmp_path)
    recorder.train_button.click()
    training = main.training_window
    assert training.isVisible() and training.stage == "finetune"
    assert training.data_edit.text() == str(recordings_dir() / "my-voice")
    assert training.name == "my-voice" and training.init_box.currentData() == "init:default"
    qtbot.waitUntil(lambda: training.inspection is None, timeout=RUN_MS)
    assert "With transcripts: 4" in training.data_note.text()
    # Train on them, briefly, from a tiny model; the result is installed under the set's name.
    training.fill_starts()
    training.init_box.setCurrentIndex(training.init_box.findData("init:starter"))
    (tmp_path / "quick.toml").write_text(FINETUNE)
    training.config_edit.setText(str(tmp_path / "quick.toml"))
    training.minutes_spin.setValue(0)
    training.steps_spin.setValue(4)
    training.start_button.click()
    qtbot.waitUntil(lambda: not training.running, timeout=RUN_MS)
    assert (models_dir() / "my-voice" / "model.safetensors").is_file(), training.log.toPlainText()[-2000:]
    # A second request for the same set proposes a new name, since my-voice is taken now.
    recorder.train_button.click()
    assert training.name == "my-voice-2"


def test_own_sentences_from_a_file_are_read_next_and_a_bad_file_is_named(qtbot, recorder, tmp_path):
    (tmp_path / "mine.txt").write_text("# my meeting words\nThe quarterly figures are in.\n\nKubernetes rolls out.\n")
    recorder.add_sentences(tmp_path / "mine.txt")
    assert recorder.set.sentences == ["The quarterly figures are in.", "Kubernetes rolls out."]
    assert recorder.sentence_label.text() == "The quarterly figures are in."
    assert "2 sentences of mine.txt" in recorder.banner.text.text()
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 au lait.\n".encode("latin-1"))
    recorder.add_sentences(tmp_path / "latin1.txt")
    assert recorder.banner.kind == "error" and "latin1.txt" in recorder.banner.text.text()
    recorder.add_sentences(tmp_path / "missing.txt")
    assert "missing.txt" in recorder.banner.text.text()
    assert len(recorder.set.sentences) == 2


def test_typing_r_in_the_set_name_types_it_and_does_not_record(qtbot, recorder):
    recorder.set_box.lineEdit().setFocus()
    recorder.set_box.setEditText("my-voice-")
    qtbot.keyClick(recorder.set_box.lineEdit(), "r")
    assert recorder.set_box.currentText() == "my-voice-r" and not recorder.recording
    recorder.record_button.setFocus()
    qtbot.keyClick(recorder, "r")
    assert recorder.recording


def test_a_take_ends_itself_after_a_pause_unless_that_is_turned_off(qtbot, recorder, tmp_path):
    assert recorder.pause_box.isChecked()  # the default
    wav = speak(recorder.set.sentences[0], tmp_path / "read.wav")
    recorder.record_button.click()
    subprocess.run(["paplay", "-d", SINK, str(wav)], check=True, timeout=60)
    # No Stop pressed: 1.5 s after the speech, the take ends and is saved.
    qtbot.waitUntil(lambda: not recorder.recording, timeout=10_000)
    assert recorder.set.recorded_indices() == [0] and recorder.index == 1
    samples, _ = soundfile.read(recordings_dir() / "my-voice" / "0001.wav", dtype="float32")
    start, end = speech_span(samples)
    assert (len(samples) - end) / RATE < TAIL_SECONDS + 0.05  # cut back to the speech

    recorder.pause_box.setChecked(False)
    recorder.record_button.click()
    subprocess.run(["paplay", "-d", SINK, str(wav)], check=True, timeout=60)
    qtbot.wait(3000)
    assert recorder.recording  # waits for Stop
    recorder.record_button.click()
    qtbot.waitUntil(lambda: not recorder.recording, timeout=10_000)
    assert recorder.set.recorded_indices() == [0, 1]
    assert Settings(tmp_path / "settings.ini").get("recorder/stop_after_pause", True, kind=bool) is False
