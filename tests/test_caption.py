"""`vivavoce caption`: live captions in the terminal (here from a file; tests/test_capture.py records for real)."""

import os
import subprocess
import sys
import time

import pytest

from test_transcribe import parse_cues
from training.metrics import character_error_rate


def test_captions_of_a_file_are_printed_and_saved_as_subtitles(trained_model, vivavoce, tmp_path):
    folder, clips = trained_model
    clip, text = next(iter(clips.items()))
    saved = tmp_path / "live.srt"

    result = vivavoce("caption", "--source", clip, "--fast", "--model", folder, "--save", saved)

    assert result.returncode == 0, result.stderr
    printed = " ".join(line.split("] ", 1)[1] for line in result.stdout.splitlines())
    assert character_error_rate([text], [printed]) < 0.3
    cues = parse_cues(saved.read_text(), ",")
    assert cues and " ".join(" ".join(lines) for _, _, lines in cues) == printed


def test_the_hop_is_settable_and_a_bad_one_is_a_one_line_error(trained_model, vivavoce):
    folder, clips = trained_model
    clip, text = next(iter(clips.items()))
    result = vivavoce("caption", "--source", clip, "--fast", "--model", folder, "--hop", "0.1")
    assert result.returncode == 0, result.stderr
    printed = " ".join(line.split("] ", 1)[1] for line in result.stdout.splitlines())
    assert character_error_rate([text], [printed]) < 0.3

    result = vivavoce("caption", "--source", clip, "--model", folder, "--hop", "5")
    error = result.stderr.strip().splitlines()[-1]  # after argparse's usage
    assert result.returncode == 2 and "--hop" in error and "0.05 to 2" in error


# Run in a fresh interpreter: records OMP_WAIT_POLICY at the moment torch is first imported (the
# OpenMP runtime reads it then, once), then runs `vivavoce` with the arguments given.
WATCH_TORCH = """
import importlib.abc, os, sys
seen = []
class Watch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "torch" and not seen:
            seen.append(os.environ.get("OMP_WAIT_POLICY", "unset"))
        return None
sys.meta_path.insert(0, Watch())
from app import cli
code = cli.main(sys.argv[1:])
print("policy when torch loaded:", seen[0] if seen else "torch never loaded")
sys.exit(code)
"""


@pytest.mark.parametrize("chosen", [None, "ACTIVE"], ids=["default", "user's choice"])
def test_live_captions_load_torch_with_threads_that_sleep_while_they_wait(trained_model, tmp_path, chosen):
    folder, clips = trained_model
    clip = next(iter(clips))
    env = {key: value for key, value in os.environ.items() if key != "OMP_WAIT_POLICY"}
    if chosen:
        env["OMP_WAIT_POLICY"] = chosen

    result = subprocess.run([sys.executable, "-c", WATCH_TORCH, "caption", "--source", str(clip), "--fast",
                             "--model", str(folder)], env=env, capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines()[-1] == f"policy when torch loaded: {chosen or 'PASSIVE'}"
    assert "] " in result.stdout  # the captions came


def test_a_file_paused_while_a_block_is_being_read_loses_none_of_it(trained_model, monkeypatch):
    # The pause may come while the reader waits for real time to reach the next block (it spends
    # most of its time there): that block is still recognised, then the file waits, and on resume
    # every sample of the file has reached the recogniser exactly once.
    import threading

    from engine import captioning
    from engine.audio import SAMPLE_RATE, load_audio
    from engine.device import resolve_device
    from engine.recognizer import Recognizer
    from engine.store import load_model
    from engine.stream import StreamingRecognizer

    folder, clips = trained_model
    clip = next(iter(clips))
    paused, fed, finals = threading.Event(), [], []
    read, feed = captioning.FileSource.read, StreamingRecognizer.feed

    def read_and_pause(self, timeout=None):
        if self.position == SAMPLE_RATE:  # pause pressed while the block after 1 s is read
            paused.set()
        return read(self, timeout)

    def counted(self, samples):
        fed.append(len(samples))
        return feed(self, samples)

    monkeypatch.setattr(captioning.FileSource, "read", read_and_pause)
    monkeypatch.setattr(StreamingRecognizer, "feed", counted)
    recognizer = Recognizer(load_model(str(folder)), resolve_device("cpu"))
    session = captioning.Session(captioning.FileSource(str(clip), realtime=False),
                                 lambda: StreamingRecognizer(recognizer),
                                 lambda event: finals.append(event.text) if event.kind == "final" else None,
                                 lambda warning: None)
    worker = threading.Thread(target=session.run, args=(lambda: False, paused.is_set))
    worker.start()
    assert paused.wait(30)
    deadline = time.monotonic() + 60
    while not finals:  # the caption in progress is made final once the pause has taken hold
        assert time.monotonic() < deadline, "no final caption at the pause"
        time.sleep(0.05)
    held = sum(fed)
    time.sleep(0.5)
    assert sum(fed) == held == SAMPLE_RATE + 1600  # up to 1 s, and the block being read then; no more
    paused.clear()
    worker.join(60)

    assert not worker.is_alive()
    assert sum(fed) == len(load_audio(clip))
    assert len(finals) >= 2 and all(finals), finals  # one made final at the pause, more after it
