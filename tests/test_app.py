"""The desktop app, offscreen: captions from a file reach the caption area, the overlay and the
transcript; pause and resume; overlay options; export; settings across restarts; errors; keyboard
and accessibility; and an event loop that never waits on the recogniser."""

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import soundfile
from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible, QGuiApplication
from PySide6.QtWidgets import (QAbstractButton, QComboBox, QLineEdit, QListWidget,
                               QProgressBar, QSlider, QSpinBox, QWidget)

from app.main_window import MainWindow
from app.settings import Settings
from app.style import PRESETS, CaptionStyle
from app.worker import CaptionRequest
from conftest import MONITOR, VIVAVOCE
from engine.audio import SAMPLE_RATE, load_audio
from engine.transcripts import TranscriptRecorder, list_transcripts, read_transcript
from test_transcribe import parse_cues
from training.metrics import character_error_rate

WAIT_MS = 120_000


@pytest.fixture
def window(qtbot, tmp_path):
    win = MainWindow(Settings(tmp_path / "settings.ini"))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.lists_ready, timeout=WAIT_MS)
    yield win
    if win.running:
        win.stop()
        qtbot.waitUntil(lambda: not win.running, timeout=WAIT_MS)
    win.overlay.close()


@pytest.fixture(scope="module")
def clip(trained_model):
    """One of the test model's sentences, as a file, and its text."""
    _, clips = trained_model
    return next(iter(clips.items()))


def caption(window, qtbot, path, model, realtime=False) -> None:
    window.start(CaptionRequest(source="file", file=str(path), model=str(model), realtime=realtime))
    assert window.running
    qtbot.waitUntil(lambda: not window.running, timeout=WAIT_MS)


def test_captions_from_a_file_reach_the_caption_area_the_overlay_and_the_saved_transcript(
        window, qtbot, trained_model, clip, data_dir):
    folder, _ = trained_model
    path, text = clip
    window.show_overlay(True)

    caption(window, qtbot, path, folder)

    shown = " ".join(window.captions.finals)
    assert character_error_rate([text], [shown]) < 0.3, shown
    assert list(window.overlay.view.finals) == list(window.captions.finals)
    lines = window.transcript.current
    assert [line.text for line in lines] == list(window.captions.finals)
    assert window.transcript.list.count() == len(lines)
    saved = list_transcripts()
    assert len(saved) == 1 and saved[0].parent == data_dir / "transcripts"
    assert [line.text for line in read_transcript(saved[0]).lines] == [line.text for line in lines]
    assert window.state_label.text() == "Stopped" and not window.banner.isVisible()
    assert window.compute_label.text() == "CPU"


@pytest.fixture(scope="module")
def two_sentences(trained_model, tmp_path_factory):
    """Two of the test model's sentences 0.8 s apart, as a file: (path, texts, (end of the first's
    speech, start of the second's) in seconds)."""
    _, clips = trained_model
    (first_path, first), (second_path, second) = list(clips.items())[:2]
    one, two = load_audio(first_path), load_audio(second_path)

    def sounding(x):
        return np.flatnonzero(np.abs(x) > 0.01 * np.abs(x).max())

    audio = np.concatenate([one, np.zeros(int(0.8 * SAMPLE_RATE), np.float32), two])
    path = tmp_path_factory.mktemp("pause") / "two sentences.wav"
    soundfile.write(path, audio, SAMPLE_RATE)
    first_ends = (sounding(one)[-1] + 1) / SAMPLE_RATE
    second_starts = (len(one) + int(0.8 * SAMPLE_RATE) + sounding(two)[0]) / SAMPLE_RATE
    return path, (first, second), (float(first_ends), float(second_starts))


def hold_the_file_at(monkeypatch, seconds: float) -> tuple[threading.Event, threading.Event]:
    """Hold the file reader when it reaches ``seconds`` of the file, until ``release`` is set.

    Pressing pause while the reader is held puts the pause at that point of the file however busy
    the CPU is (the reader of a file in real time spends most of its time waiting there anyway).
    """
    from engine.captioning import FileSource

    reached, release = threading.Event(), threading.Event()
    read = FileSource.read

    def held(self, timeout=None):
        if self.position >= seconds * SAMPLE_RATE and not reached.is_set():
            reached.set()
            release.wait(WAIT_MS / 1000)
        return read(self, timeout)

    monkeypatch.setattr(FileSource, "read", held)
    return reached, release


def test_pause_makes_the_caption_final_holds_the_file_and_resume_goes_on_from_there(
        window, qtbot, trained_model, two_sentences, monkeypatch):
    folder, _ = trained_model
    path, (first, second), (first_ends, second_starts) = two_sentences
    # Just after the first sentence, before the silence is long enough to end its caption.
    pause_at = first_ends + 0.05
    reached, release = hold_the_file_at(monkeypatch, pause_at)
    window.start(CaptionRequest(source="file", file=str(path), model=str(folder), realtime=True))
    qtbot.waitUntil(reached.is_set, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: bool(window.captions.partial), timeout=WAIT_MS)
    assert not window.captions.finals  # the first sentence is still the caption in progress

    window.toggle()  # pause
    release.set()
    assert window.worker.paused and window.start_button.text() == "Resume"
    qtbot.waitUntil(lambda: bool(window.captions.finals), timeout=WAIT_MS)  # made final at the pause
    assert window.captions.partial == ""
    held = list(window.captions.finals)
    assert character_error_rate([first], [" ".join(held)]) < 0.1, held
    qtbot.wait(2000)
    assert list(window.captions.finals) == held and window.captions.partial == ""
    window.toggle()  # resume
    assert not window.worker.paused and window.start_button.text() == "Pause"
    qtbot.waitUntil(lambda: not window.running, timeout=WAIT_MS)

    later = list(window.captions.finals)[len(held):]
    assert character_error_rate([second], [" ".join(later)]) < 0.1, later
    lines = window.transcript.current
    assert [line.text for line in lines] == held + later
    # Times are the file's: the first caption ends where the file was paused (the reader stops
    # within a block of 0.1 s past pause_at, and reads that block), the second begins where the
    # second sentence does, all in order and within the file.
    assert lines[len(held) - 1].end <= pause_at + 0.2
    assert second_starts - 0.1 <= lines[len(held)].start <= second_starts + 0.5
    assert [line.start for line in lines] == sorted(line.start for line in lines)
    assert lines[-1].end <= len(load_audio(path)) / SAMPLE_RATE + 0.1


def test_the_event_loop_never_waits_on_the_recogniser_or_the_disk(
        window, qtbot, trained_model, clip, tmp_path, monkeypatch):
    # Recognition, and saving each final caption to disk (synced), run only in the worker thread;
    # captions reach the widgets only in the GUI thread, through queued signals. Checked by thread
    # identity rather than by timing the event loop, which a loaded machine can stall for
    # reasons of its own.
    import threading

    from app.captions import CaptionView
    from engine import transcripts
    from engine.stream import StreamingRecognizer

    folder, _ = trained_model
    path = tmp_path / "four times.wav"
    soundfile.write(path, np.tile(load_audio(clip[0]), 4), SAMPLE_RATE)  # recognised as fast as it can be
    recognising, showing, saving = set(), set(), set()

    def spy(function, threads):
        def wrapper(*args, **kwargs):
            threads.add(threading.get_ident())
            return function(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(StreamingRecognizer, "feed", spy(StreamingRecognizer.feed, recognising))
    monkeypatch.setattr(transcripts, "append_durably", spy(transcripts.append_durably, saving))
    monkeypatch.setattr(CaptionView, "add_final", spy(CaptionView.add_final, showing))
    monkeypatch.setattr(CaptionView, "set_partial", spy(CaptionView.set_partial, showing))
    caption(window, qtbot, path, folder)

    assert window.captions.finals  # it did recognise
    assert recognising and threading.get_ident() not in recognising
    assert showing == {threading.get_ident()}
    # The transcript, its header and every caption, is written in the worker's thread only.
    assert saving and saving == recognising


def test_overlay_docks_styles_and_lets_clicks_through(window, qtbot):
    overlay = window.overlay
    window.dock_overlay("top")
    screen = overlay.screen().availableGeometry()
    assert overlay.isVisible() and window.overlay_action.isChecked()
    assert overlay.geometry().top() < screen.top() + 50
    window.dock_overlay("bottom")
    assert overlay.geometry().bottom() > screen.bottom() - 50
    assert overlay.windowFlags() & Qt.WindowType.WindowStaysOnTopHint
    assert overlay.windowFlags() & Qt.WindowType.FramelessWindowHint

    small = replace_style(PRESETS["Yellow on black"], font_size=20, lines=2)
    window.apply_style(small)
    height_two = overlay.height()
    window.apply_style(replace_style(small, lines=4))
    assert overlay.height() > 1.6 * height_two
    window.apply_style(replace_style(small, font_size=60, lines=2, uppercase=True))
    assert overlay.height() > 2 * height_two
    for sentence in ("one two three four five six seven", "eight nine ten eleven twelve thirteen",
                     "fourteen fifteen sixteen seventeen eighteen nineteen twenty"):
        overlay.view.add_final(sentence)
    corner = overlay.view.grab().toImage().pixelColor(2, 2)  # the background, translucent as styled
    assert (corner.red(), corner.green(), corner.blue(), corner.alpha()) == (0, 0, 0, round(0.85 * 255))
    lines = overlay.view.visual_lines()
    assert all(final == final.upper() for final, _ in lines)

    window.click_through_action.setChecked(True)
    assert overlay.windowFlags() & Qt.WindowType.WindowTransparentForInput and overlay.isVisible()
    window.click_through_action.setChecked(False)
    assert not overlay.windowFlags() & Qt.WindowType.WindowTransparentForInput

    window.show_overlay(False)
    assert not overlay.isVisible() and not window.overlay_action.isChecked()


def test_the_overlay_can_be_dragged_off_its_dock(window, qtbot):
    window.dock_overlay("bottom")
    overlay = window.overlay
    start = overlay.geometry().topLeft()
    qtbot.mousePress(overlay.view, Qt.MouseButton.LeftButton, pos=overlay.view.rect().center())
    qtbot.mouseMove(overlay.view, overlay.view.rect().center() + type(start)(0, -120))
    qtbot.mouseRelease(overlay.view, Qt.MouseButton.LeftButton, pos=overlay.view.rect().center())
    assert overlay.dock == "free"
    assert overlay.geometry().top() < start.y() - 60


def test_a_full_disk_stops_the_saving_with_a_message_but_not_the_captions_or_the_transcript(
        window, qtbot, trained_model, clip, data_dir, monkeypatch):
    folder, _ = trained_model
    path, _ = clip

    made = []

    class FullDiskRecorder(TranscriptRecorder):
        """A transcript whose disk is full once its header is written: every later write fails (ENOSPC)."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.file.close()
            self.file = open("/dev/full", "w", encoding="utf-8")
            made.append(self)

    monkeypatch.setattr("app.worker.TranscriptRecorder", FullDiskRecorder)
    window.start(CaptionRequest(source="file", file=str(path), model=str(folder), realtime=False))
    qtbot.waitUntil(lambda: not window.running, timeout=WAIT_MS)
    [recorder] = made

    assert window.captions.finals
    assert [line.text for line in window.transcript.current] == list(window.captions.finals)
    message = window.banner.text.text()
    assert window.banner.isVisible() and "cannot save the transcript" in message and "no longer saved" in message
    assert window.state_label.text() == "Stopped" and recorder.file.closed
    assert [line.text for line in read_transcript(recorder.path).lines] == []  # only its header reached the disk


def test_a_transcript_folder_that_cannot_be_made_is_named_and_the_captions_go_on(
        window, qtbot, trained_model, clip, data_dir):
    folder, _ = trained_model
    path, _ = clip
    (data_dir / "transcripts").write_text("a file where the folder should be")

    window.start(CaptionRequest(source="file", file=str(path), model=str(folder), realtime=False))
    qtbot.waitUntil(lambda: not window.running, timeout=WAIT_MS)

    assert window.captions.finals
    assert [line.text for line in window.transcript.current] == list(window.captions.finals)
    message = window.banner.text.text()
    assert window.banner.isVisible() and window.banner.kind == "warning"
    assert str(data_dir / "transcripts") in message and "captions will not be saved" in message


def test_closing_the_window_mid_caption_stops_the_worker_and_saves_the_last_caption(
        window, qtbot, trained_model, clip, data_dir):
    folder, _ = trained_model
    path, _ = clip
    window.start(CaptionRequest(source="file", file=str(path), model=str(folder), realtime=True))
    qtbot.waitUntil(lambda: bool(window.captions.partial), timeout=WAIT_MS)
    thread = window.thread

    window.close()

    assert thread.isFinished()  # within the close, not after it
    assert window.captions.finals  # the caption being spoken, final at the stop
    saved = read_transcript(list_transcripts()[0])
    assert [line.text for line in saved.lines] == list(window.captions.finals)


def test_exported_transcripts_parse_as_text_srt_and_webvtt(window, qtbot, trained_model, clip, tmp_path):
    folder, _ = trained_model
    path, _ = clip
    caption(window, qtbot, path, folder)
    lines = window.transcript.current
    words = " ".join(line.text for line in lines)

    for fmt, separator in (("srt", ","), ("vtt", r"\.")):
        target = tmp_path / f"captions.{fmt}"
        assert window.transcript.export_to(target)
        cues = parse_cues(target.read_text(), separator)
        assert " ".join(" ".join(text) for _, _, text in cues) == words
        assert all(start < end for start, end, _ in cues)
    assert (tmp_path / "captions.vtt").read_text().startswith("WEBVTT")
    assert window.transcript.export_to(tmp_path / "captions.txt")
    rows = (tmp_path / "captions.txt").read_text().splitlines()
    assert [row.split("] ", 1)[1] for row in rows] == [line.text for line in lines]

    assert not window.transcript.export_to(tmp_path / "captions.docx")
    assert window.banner.isVisible() and "captions.docx" in window.banner.text.text()
    assert not (tmp_path / "captions.docx").exists()


def test_transcript_search_copy_and_earlier_sessions(window, qtbot, trained_model):
    folder, clips = trained_model
    (first, first_text), (second, second_text) = list(clips.items())[:2]
    caption(window, qtbot, first, folder)
    panel = window.transcript
    earlier = [line.text for line in panel.current]
    assert "fox" in " ".join(earlier)

    panel.search.setText("fox")
    visible = [panel.list.item(i).text() for i in range(panel.list.count()) if not panel.list.item(i).isHidden()]
    assert visible and all("fox" in row for row in visible)
    assert "fox" in panel.copy() and QGuiApplication.clipboard().text() == panel.copy()
    panel.search.setText("zebra")
    assert all(panel.list.item(i).isHidden() for i in range(panel.list.count()))
    assert panel.matches.text() == f"0 of {len(earlier)} lines"
    panel.search.clear()

    caption(window, qtbot, second, folder)  # a second session
    assert "fox" not in " ".join(line.text for line in panel.current)
    assert panel.session.count() == 3  # this session, and the two saved
    older = panel.session.itemData(2)
    panel.open_transcript(older)
    assert [line.text for line in panel.shown()] == earlier
    assert panel.list.count() == len(earlier)
    panel.refresh_sessions()  # as when a session ends: the list is read again, the choice stays
    assert panel.session.currentData() == older and [line.text for line in panel.shown()] == earlier
    panel.session.setCurrentIndex(0)
    panel._choose_session(0)
    assert [line.text for line in panel.shown()] == [line.text for line in panel.current]


def test_settings_survive_a_restart(qtbot, tmp_path):
    path = tmp_path / "talk.flac"
    settings_file = tmp_path / "settings.ini"
    first = MainWindow(Settings(settings_file))
    qtbot.addWidget(first)
    first.show()
    qtbot.waitUntil(lambda: first.lists_ready, timeout=WAIT_MS)
    first.setGeometry(40, 50, 1010, 580)
    first.source_box.setCurrentIndex(first.source_box.findData("file"))
    first.file_edit.setText(str(path))
    style = replace_style(PRESETS["Black on cream"], font_size=44, lines=2, uppercase=True)
    first.apply_style(style)
    first.dock_overlay("top")
    first.click_through_action.setChecked(True)
    assert not first.starts_on_open
    first.start_on_open_action.setChecked(True)
    first.close()

    second = MainWindow(Settings(settings_file))
    qtbot.addWidget(second)
    second.show()
    qtbot.waitUntil(lambda: second.lists_ready, timeout=WAIT_MS)
    assert second.source_box.currentData() == "file" and second.file_edit.text() == str(path)
    assert second.caption_style() == style and second.overlay.view.caption_style == style
    assert second.size() == first.size()
    assert second.overlay.dock == "top" and second.click_through_action.isChecked()
    assert second.starts_on_open and not second.running  # the window itself starts nothing: gui.run does
    qtbot.waitUntil(second.overlay.isVisible)
    second.close()


def test_errors_show_a_visible_message_and_the_app_keeps_running(window, qtbot, trained_model, tmp_path):
    folder, clips = trained_model
    missing = tmp_path / "nowhere.wav"
    window.start(CaptionRequest(source="file", file=str(missing), model=str(folder)))
    qtbot.waitUntil(lambda: not window.running, timeout=WAIT_MS)
    assert window.banner.isVisible() and "nowhere.wav" in window.banner.text.text()

    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    window.start(CaptionRequest(source="file", file=str(next(iter(clips))), model=str(broken)))
    qtbot.waitUntil(lambda: not window.running, timeout=WAIT_MS)
    message = window.banner.text.text()
    assert "broken-model" in message and "Model list" in message

    caption(window, qtbot, next(iter(clips)), folder)  # and it still works
    assert window.captions.finals and not window.banner.isVisible()


def test_the_window_shows_and_fills_its_lists_without_loading_torch_and_has_its_icon(tmp_path):
    """Loading torch takes seconds: only the worker that hosts the engine may, when captions start;
    the window paints, then lists the devices and models, without it, and so do the models and
    training windows."""
    script = f"""
import sys
from app.gui import make_application
from app.main_window import MainWindow
from app.settings import Settings
from PySide6.QtCore import QEvent, QObject, QTimer
app = make_application()
window = MainWindow(Settings({str(tmp_path / "settings.ini")!r}))
assert "torch" not in sys.modules, "torch loaded while building the window"
painted = []
class FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint and not painted:
            painted.append("torch" not in sys.modules)
        return False
spy = FirstPaint()
window.captions.installEventFilter(spy)
window.show()
QTimer.singleShot(30000, app.quit)
timer = QTimer()
timer.timeout.connect(lambda: window.lists_ready and app.quit())
timer.start(10)
app.exec()
assert painted == [True], "the first paint came after torch was loaded" if painted else "never painted"
assert window.lists_ready and "torch" not in sys.modules, "listing devices and models loaded torch"
window.show_models()
window.show_training()
window.show_recorder()
assert window.training_window.init_box.count() and window.models_window.list.count()
assert window.recorder_window.sentence_label.text()
assert "torch" not in sys.modules, ("the models, training or recorder window loaded torch (their work runs in "
                                    "child processes)")
window.recorder_window.close()
assert window.device_box.itemText(0) == "Default microphone", window.device_box.itemText(0)
assert not app.windowIcon().isNull(), "no application icon"
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]


def test_without_a_model_the_window_says_how_to_get_one(no_bundled_model, window):
    assert window.model_box.currentData() is None
    assert window.banner.isVisible() and "Models ▸ Manage models ▸ Download…" in window.banner.text.text()
    window.start()
    assert not window.running and "Download…" in window.banner.text.text()


def test_keyboard_shortcuts_change_the_text_size_clear_and_toggle_the_overlay(window, qtbot):
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    size = window.caption_style().font_size
    qtbot.keyClick(window, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert window.caption_style().font_size > size
    qtbot.keyClick(window, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert window.caption_style().font_size == size
    window.captions.add_final("something said")
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert not window.captions.finals
    qtbot.keyClick(window, Qt.Key.Key_F9)
    assert window.overlay.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_F9)
    assert not window.overlay.isVisible()
    shortcuts = {a.text().replace("&", ""): a.shortcut().toString() for a in window.findChildren(type(window.start_action))}
    assert shortcuts["Start or pause"] == "Ctrl+Space" and shortcuts["Stop"] == "Shift+F5"


def test_every_control_has_an_accessible_name_and_a_sensible_tab_order(window, qtbot):
    window.edit_style()
    kinds = (QAbstractButton, QComboBox, QLineEdit, QSlider, QSpinBox, QListWidget, QProgressBar)
    checked = 0
    for root in (window, window.style_dialog):
        for widget in root.findChildren(QWidget):
            if (not isinstance(widget, kinds) or not widget.isVisible()
                    or isinstance(widget.parent(), (QComboBox, QSpinBox, QLineEdit))):
                continue  # a composite's own parts are named by it
            # What a screen reader reads: the accessible name, a button's text, a label's buddy.
            name = QAccessible.queryAccessibleInterface(widget).text(QAccessible.Text.Name)
            assert name.replace("&", "").strip(), f"{type(widget).__name__} {widget.objectName()} has no name"
            checked += 1
    assert checked > 25
    window.style_dialog.close()

    order, widget = [], window.start_button
    while widget not in order and len(order) < 100:  # once round the chain
        order.append(widget)
        widget = widget.nextInFocusChain()
        while not widget.isVisible() or widget.focusPolicy() == Qt.FocusPolicy.NoFocus or not widget.isEnabled():
            widget = widget.nextInFocusChain()
    panel = window.transcript
    expected = [window.start_button, window.source_box, window.device_box, window.model_box, panel.session,
                panel.search, panel.list, panel.copy_button, panel.export_button]  # Stop is disabled while idle
    assert [w for w in order if w in expected] == expected


def test_every_preset_is_readable_at_wcag_aaa_and_partial_text_is_dimmer_but_readable():
    from app.captions import PARTIAL_MIX
    from app.style import contrast_ratio, worst_contrast

    assert contrast_ratio("#ffffff", "#000000") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    # Half-transparent black over a white screen is mid grey: grey text can vanish into it.
    assert worst_contrast(CaptionStyle(text_color="#606060", background_color="#000000",
                                       background_opacity=0.5)) == 1.0
    # White on 85% black: the worst screen is white, which shows through as a dark grey (38, 38, 38).
    assert worst_contrast(CaptionStyle()) == pytest.approx(contrast_ratio("#ffffff", "#262626"), rel=0.01)
    for name, style in PRESETS.items():
        assert worst_contrast(style, opacity=1.0) >= 7.0, name
        assert worst_contrast(style) >= 7.0, name  # the overlay, over any screen
        fg, bg = np.array(parse(style.text_color)), np.array(parse(style.background_color))
        dim = "#" + "".join(f"{round(c):02x}" for c in (1 - PARTIAL_MIX) * fg + PARTIAL_MIX * bg)
        assert 4.5 <= contrast_ratio(dim, style.background_color) < contrast_ratio(style.text_color,
                                                                                    style.background_color), name


def test_style_dialog_applies_presets_and_custom_choices_live(window, qtbot):
    window.edit_style()
    dialog = window.style_dialog
    dialog._apply_preset("Large, yellow on black")
    assert window.caption_style().text_color == "#ffff00" and window.caption_style().font_size == 56
    dialog.font_size.setValue(80)
    assert window.caption_style().font_size == 80 and window.overlay.view.caption_style.font_size == 80
    assert dialog.preset.currentText() == "Large, yellow on black"
    dialog.text_color.set_color("#333333")
    dialog.text_color.changed.emit("#333333")
    assert dialog.preset.currentText() == "Custom" and "below WCAG AAA" in dialog.contrast.text()
    dialog.reject()
    assert window.caption_style().font_size == CaptionStyle().font_size



@pytest.mark.parametrize("chosen", [None, "ACTIVE"], ids=["default", "user's choice"])
def test_the_app_lets_torchs_threads_sleep_while_they_wait_unless_the_user_chose(tmp_path, chosen):
    """The OpenMP runtime reads its wait policy once, when torch loads (engine/threads.py): the app
    sets it as it starts, before its caption worker can load torch."""
    script = """
import os, sys
from PySide6.QtCore import QTimer
from app import cli
from app.gui import make_application
app = make_application()
seen = []
QTimer.singleShot(0, lambda: (seen.append((os.environ.get("OMP_WAIT_POLICY"), "torch" in sys.modules)),
                              app.quit()))
cli.main(["gui"])
print(seen)
"""
    env = {key: value for key, value in os.environ.items() if key != "OMP_WAIT_POLICY"}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"))
    if chosen:
        env["OMP_WAIT_POLICY"] = chosen
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == str([(chosen or "PASSIVE", False)])

def test_vivavoce_without_arguments_opens_the_desktop_app():
    env = {**os.environ}
    process = subprocess.Popen([str(VIVAVOCE)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(10)
        running = process.poll() is None
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert running, stderr
    assert "Traceback" not in stderr


def replace_style(style, **changes):
    from dataclasses import replace

    return replace(style, **changes)


def parse(color):
    from app.style import parse_color

    return parse_color(color)



def test_a_microphone_that_is_not_there_is_named_in_the_message(window, qtbot, trained_model, null_sink):
    folder, _ = trained_model
    window.start(CaptionRequest(source="mic", input_device="Nonexistent USB Mic", model=str(folder)))
    qtbot.waitUntil(lambda: not window.running, timeout=WAIT_MS)
    message = window.banner.text.text()
    assert window.banner.kind == "error" and "Nonexistent USB Mic" in message
    assert "Microphone list" in message


def test_losing_the_sound_device_shows_a_warning_and_captions_reconnect(window, qtbot, trained_model, null_sink):
    folder, _ = trained_model
    window.start(CaptionRequest(source="system", model=str(folder)))
    qtbot.waitUntil(lambda: window.delay_label.text() != "", timeout=WAIT_MS)  # audio flows
    null_sink.unload()
    try:
        qtbot.waitUntil(lambda: "trying to reconnect" in window.banner.text.text(), timeout=WAIT_MS)
        assert window.banner.kind == "warning" and window.running and MONITOR in window.banner.text.text()
    finally:
        null_sink.load()
    qtbot.waitUntil(lambda: "reconnected" in window.banner.text.text(), timeout=WAIT_MS)
    assert window.running
    window.stop()
    qtbot.waitUntil(lambda: not window.running, timeout=WAIT_MS)
    assert window.state_label.text() == "Stopped"


def test_garbage_is_collected_in_the_gui_thread_young_often_and_whole_rarely(window, monkeypatch):
    import gc

    from app.main_window import FULL_GC_TICKS

    generations = []
    monkeypatch.setattr(gc, "collect", lambda generation=2: generations.append(generation))
    for _ in range(2 * FULL_GC_TICKS):
        window._collect_garbage()

    assert not gc.isenabled()  # no collection can start in the worker thread while the window is open
    assert generations.count(2) == 2 and generations.count(1) == 2 * FULL_GC_TICKS - 2
    assert generations[FULL_GC_TICKS - 1] == 2
