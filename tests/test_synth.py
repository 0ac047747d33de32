"""`vivavoce train synth`: synthetic speech corpora, deterministic, resumable and extendable."""

import json
import os
import shutil

import pytest
import soundfile

from training.synth.corpus import MANIFEST, SETTINGS


def rows(folder):
    lines = (folder / MANIFEST).read_text().splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"))) for line in lines[1:]]


def synth(vivavoce, out, hours, *flags):
    return vivavoce("train", "synth", "--out", out, "--hours", hours, "--workers", "2", "--seed", "1", *flags)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from conftest import run_vivavoce

    out = tmp_path_factory.mktemp("synth") / "corpus"
    result = synth(run_vivavoce, out, 0.01)
    assert result.returncode == 0, result.stderr
    return out


def test_a_corpus_holds_the_hours_asked_for_from_every_engine_as_16k_audio(corpus):
    table = rows(corpus)
    assert sum(float(r["seconds"]) for r in table) >= 36
    installed = {"espeak", "flite"} | ({"festival"} if shutil.which("festival") else set())
    assert {r["engine"] for r in table} == installed
    assert len({r["voice"] for r in table}) > 5 and len({r["text"] for r in table}) == len(table)
    for r in table[:5]:
        info = soundfile.info(corpus / r["path"])
        assert (info.samplerate, info.channels) == (16000, 1)
        assert info.duration == pytest.approx(float(r["seconds"]), abs=0.001)
    assert all(set(r["text"]) <= set("abcdefghijklmnopqrstuvwxyz' ") for r in table)


def test_the_corpus_is_training_data_as_it_stands(corpus, vivavoce):
    result = vivavoce("train", "inspect-data", corpus)
    assert result.returncode == 0, result.stderr
    assert f"With transcripts: {len(rows(corpus))}" in result.stdout


def test_the_same_seed_makes_the_same_corpus(corpus, vivavoce, tmp_path):
    again = tmp_path / "again"
    assert synth(vivavoce, again, 0.01).returncode == 0
    assert (again / MANIFEST).read_text() == (corpus / MANIFEST).read_text()
    first = rows(corpus)[3]["path"]
    assert (again / first).read_bytes() == (corpus / first).read_bytes()


def test_an_interrupted_run_resumes_and_a_larger_hours_extends_to_the_same_corpus(corpus, vivavoce, tmp_path):
    out = tmp_path / "grown"
    assert synth(vivavoce, out, 0.004).returncode == 0
    manifest = out / MANIFEST
    text = manifest.read_text()
    manifest.write_text(text[: len(text) - 7])  # a crash in the middle of the last row
    last = rows(corpus)[len(rows(out)) - 1]["path"]
    (out / last).unlink(missing_ok=True)

    again = synth(vivavoce, out, 0.004)
    resumed = synth(vivavoce, out, 0.01, "--resume")

    assert again.returncode == 2 and "--resume" in again.stderr
    assert resumed.returncode == 0, resumed.stderr
    assert manifest.read_text() == (corpus / MANIFEST).read_text()
    assert all((out / r["path"]).is_file() for r in rows(out))


def test_training_utterances_get_other_talkers_voices_and_the_manifest_says_which(corpus):
    recipes = [json.loads(r["augmentation"]) for r in rows(corpus)]
    assert json.loads((corpus / SETTINGS).read_text())["augmentation"] == 3
    assert any(r["formant"] != 1.0 for r in recipes) and any(r["tilt_db"] != 0.0 for r in recipes)
    assert any(r["skew"] != 0.0 for r in recipes) and any(r["breath_db"] is not None for r in recipes)
    assert any(r["vary"] != 0.0 for r in recipes)


# A corpus keeps the augmentation it was started with: settings as earlier versions wrote them,
# and the recipe fields that a later version added, which its new utterances must not have.
OLDER = {
    "before voices were reshaped": (None, {"formant": 1.0, "tilt_db": 0.0, "skew": 0.0, "breath_db": None,
                                           "vary": 0.0}),
    "at version 2": (2, {"skew": 0.0, "breath_db": None, "vary": 0.0}),
}


@pytest.mark.parametrize("made", OLDER)
def test_a_corpus_made_by_an_earlier_version_is_extended_as_that_version(made, corpus, vivavoce, tmp_path):
    version, defaults = OLDER[made]
    out = tmp_path / "older"
    assert synth(vivavoce, out, 0.004).returncode == 0
    settings = json.loads((out / SETTINGS).read_text())
    if version is None:
        del settings["augmentation"]  # as `train synth` wrote it before the voice reshaping
    else:
        settings["augmentation"] = version
    (out / SETTINGS).write_text(json.dumps(settings))
    before = len(rows(out))

    assert synth(vivavoce, out, 0.01, "--resume").returncode == 0

    added = [json.loads(r["augmentation"]) for r in rows(out)[before:]]
    assert added and all(r[name] == default for r in added for name, default in defaults.items())
    assert json.loads((out / SETTINGS).read_text()).get("augmentation", 1) == (version or 1)
    assert [r["text"] for r in rows(out)] == [r["text"] for r in rows(corpus)][: len(rows(out))]


def test_other_settings_cannot_extend_a_corpus(corpus, vivavoce, tmp_path):
    out = shutil.copytree(corpus, tmp_path / "copy")
    result = vivavoce("train", "synth", "--out", out, "--hours", "0.02", "--seed", "2", "--resume")
    assert result.returncode == 2 and "seed" in result.stderr


def test_phoneme_transcripts_are_espeak_ipa(vivavoce, tmp_path):
    out = tmp_path / "ipa"
    result = synth(vivavoce, out, 0.003, "--phonemes", "--engines", "espeak")
    assert result.returncode == 0, result.stderr
    texts = [r["text"] for r in rows(out)]
    assert texts
    for text in texts:  # phonemes between spaces, "|" between words, no stress marks
        words = text.split(" | ")
        assert len(words) >= 2 and all(word.split() for word in words), text
        assert "ˈ" not in text and "ˌ" not in text
    inventory = {p for text in texts for p in text.split()}
    assert {"ð", "ə"} <= inventory and any(len(p) > 1 for p in inventory)  # "the"; diphthongs and long vowels


def test_an_unknown_engine_is_a_one_line_error(vivavoce, tmp_path):
    result = synth(vivavoce, tmp_path / "x", 0.01, "--engines", "espeak,mbrola")
    assert result.returncode == 2 and "mbrola" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_an_engine_that_is_not_installed_is_skipped_with_a_notice(vivavoce, tmp_path, monkeypatch):
    only_espeak = tmp_path / "bin"
    only_espeak.mkdir()
    for tool in ("espeak-ng", "gzip"):  # gzip: a base tool the Bible text is read with
        os.symlink(shutil.which(tool), only_espeak / tool)
    monkeypatch.setenv("PATH", str(only_espeak))

    result = synth(vivavoce, tmp_path / "c", 0.002)

    assert result.returncode == 0, result.stderr
    assert "flite is not installed" in result.stderr and "festival is not installed" in result.stderr
    assert {r["engine"] for r in rows(tmp_path / "c")} == {"espeak"}


def test_an_engine_without_its_voice_data_is_skipped_with_a_notice(vivavoce, tmp_path, monkeypatch):
    # The real festival, pointed at an empty library folder: it runs, but knows no voice.
    bin_dir, empty = tmp_path / "bin", tmp_path / "empty"
    bin_dir.mkdir(), empty.mkdir()
    (bin_dir / "festival").write_text(f'#!/bin/sh\nexec {shutil.which("festival")} --libdir {empty} '
                                      f'--datadir {empty} "$@"\n')
    (bin_dir / "festival").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    result = synth(vivavoce, tmp_path / "c", 0.002, "--engines", "espeak,festival")
    alone = synth(vivavoce, tmp_path / "d", 0.002, "--engines", "festival")

    assert result.returncode == 0, result.stderr
    assert "festival is installed but has no English voice" in result.stderr
    assert {r["engine"] for r in rows(tmp_path / "c")} == {"espeak"}
    assert alone.returncode == 2 and len(alone.stderr.strip().splitlines()) == 2  # the notice, the error
    assert "none of these synthesisers has an English voice" in alone.stderr


def test_a_test_set_reads_held_out_sentences_with_every_engine(vivavoce, corpus, tmp_path):
    from training.synth.text import held_out, sentences, spoken_form

    out = tmp_path / "test-noisy"
    result = synth(vivavoce, out, 0.004, "--test-set", "noisy", "--engines", "espeak,flite")

    assert result.returncode == 0, result.stderr
    table = rows(out)
    kept_out = {spoken_form(s) for s in held_out(sentences())}
    assert all(r["text"] in kept_out for r in table)
    assert not {r["text"] for r in rows(corpus)} & kept_out  # training corpora never read them
    assert [r["engine"] for r in table[:4]] == ["espeak", "flite", "espeak", "flite"]
    assert table[0]["text"] == table[1]["text"]  # the same sentence from each engine
    assert all('"snr_db": 15.0' in r["augmentation"] and r["speed"] == "1.0" for r in table)
