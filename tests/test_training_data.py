"""training.data: a folder of recordings and transcripts, scanned, reported, split and batched."""

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from conftest import speak
from engine.audio import SAMPLE_RATE, load_audio
from engine.errors import VivavoceError
from training.data import (
    AudioDataset,
    Utterance,
    collate,
    drop_long,
    length_batches,
    report,
    scan,
    split,
)


def noise(path: Path, seconds: float, rate: int = 16000, channels: int = 1) -> Path:
    """Write ``seconds`` of quiet noise at ``rate`` Hz in ``channels`` channels; the name sets the format."""
    path.parent.mkdir(parents=True, exist_ok=True)
    samples = 0.1 * np.random.default_rng(len(path.name)).standard_normal((round(rate * seconds), channels))
    soundfile.write(path, samples.astype(np.float32), rate)
    return path


def spoken(path: Path, text: str) -> Path:
    """Write espeak-ng's reading of ``text`` in the format the name asks for (espeak-ng writes WAV)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wav = speak(text, path.with_suffix(".espeak.wav"))
    samples, rate = soundfile.read(wav, dtype="float32")
    wav.unlink()
    soundfile.write(path, samples, rate)
    return path


def utterances(*durations: float) -> list[Utterance]:
    return [Utterance(Path(f"/u/{i:03d}.wav"), d, None) for i, d in enumerate(durations)]


# Finding recordings and their transcripts


def test_a_txt_beside_an_audio_file_is_its_transcript(tmp_path):
    spoken(tmp_path / "one.wav", "hello there")
    (tmp_path / "one.txt").write_text("  Hello\n  there. \n")
    spoken(tmp_path / "two.flac", "good morning")
    (tmp_path / "two.txt").write_text("Good morning")

    corpus = scan(tmp_path)

    assert [(u.path, u.text) for u in corpus.utterances] == [
        (tmp_path / "one.wav", "Hello there."),
        (tmp_path / "two.flac", "Good morning"),
    ]
    assert corpus.labelled == corpus.utterances
    assert corpus.without_text == [] and corpus.text_without_audio == [] and corpus.unreadable == []


def test_durations_come_from_headers_without_decoding_audio(tmp_path, monkeypatch):
    noise(tmp_path / "a.wav", 1.5, rate=8000)
    noise(tmp_path / "b.ogg", 0.75, rate=48000)

    def no_decoding(*args, **kwargs):
        raise AssertionError("scan decoded audio")

    monkeypatch.setattr(soundfile.SoundFile, "read", no_decoding)
    corpus = scan(tmp_path)

    assert [u.duration for u in corpus.utterances] == [1.5, 0.75]
    assert corpus.total_seconds == 2.25


def test_common_voice_validated_tsv_with_clips_beside_it(tmp_path):
    clips = tmp_path / "cv-corpus" / "en" / "clips"
    spoken(clips / "common_voice_en_1.mp3", "the cat sat")
    spoken(clips / "common_voice_en_2.mp3", "on the mat")
    spoken(clips / "common_voice_en_3.mp3", "rejected reading")
    header = "client_id\tpath\tsentence_id\tsentence\tup_votes\tdown_votes\tage\tgender\tlocale\n"
    validated = clips.parent / "validated.tsv"
    validated.write_text(
        header
        + "c1\tcommon_voice_en_1.mp3\ts1\tThe cat sat.\t2\t0\t\t\ten\n"
        + 'c2\tcommon_voice_en_2.mp3\ts2\t"On" the mat\t2\t0\t\t\ten\n'
        + "c3\tcommon_voice_en_9.mp3\ts9\tA clip not downloaded\t2\t0\t\t\ten\n"
    )
    # Common Voice also lists validated clips again in its splits, and rejected ones apart.
    (clips.parent / "train.tsv").write_text(
        header + "c1\tcommon_voice_en_1.mp3\ts1\tThe cat sat.\t2\t0\t\t\ten\n"
    )
    (clips.parent / "invalidated.tsv").write_text(
        header + "c4\tcommon_voice_en_3.mp3\ts3\tSomething else\t0\t2\t\t\ten\n"
    )
    (clips.parent / "clip_durations.tsv").write_text("clip\tduration[ms]\ncommon_voice_en_1.mp3\t1000\n")

    corpus = scan(tmp_path)

    assert {u.path.name: u.text for u in corpus.utterances} == {
        "common_voice_en_1.mp3": "The cat sat.",
        "common_voice_en_2.mp3": '"On" the mat',
        "common_voice_en_3.mp3": None,
    }
    assert corpus.without_text == [clips / "common_voice_en_3.mp3"]
    assert corpus.text_without_audio == [f"{validated}:4"]
    assert corpus.unreadable == []


def test_a_csv_manifest_with_paths_relative_to_its_folder(tmp_path):
    spoken(tmp_path / "audio" / "a.wav", "one, two")
    spoken(tmp_path / "audio" / "b.wav", "three")
    (tmp_path / "metadata.csv").write_text(
        'File,Speaker,Transcription\naudio/a.wav,me,"One, two"\naudio/b.wav,me,Three\n'
    )

    corpus = scan(tmp_path)

    assert [(u.path.name, u.text) for u in corpus.utterances] == [("a.wav", "One, two"), ("b.wav", "Three")]


def test_a_table_without_path_and_text_columns_is_not_a_manifest(tmp_path):
    noise(tmp_path / "a.wav", 0.5)
    (tmp_path / "speakers.csv").write_text("name,age\nme,40\n")

    corpus = scan(tmp_path)

    assert corpus.labelled == [] and corpus.text_without_audio == [] and corpus.unreadable == []


def test_nested_folders_and_upper_case_extensions_are_found(tmp_path):
    noise(tmp_path / "x" / "y" / "deep.WAV", 0.5)
    noise(tmp_path / "x" / "mid.Flac", 0.5)
    noise(tmp_path / "top.mp3", 0.5)
    noise(tmp_path / "x" / ".hidden" / "skipped.wav", 0.5)

    corpus = scan(tmp_path)

    assert [u.path.relative_to(tmp_path).as_posix() for u in corpus.utterances] == [
        "top.mp3",
        "x/mid.Flac",
        "x/y/deep.WAV",
    ]


def test_sample_rates_are_counted_and_any_channel_count_is_usable(tmp_path):
    noise(tmp_path / "a.wav", 0.5, rate=8000)
    noise(tmp_path / "b.wav", 0.5, rate=44100, channels=2)
    noise(tmp_path / "c.flac", 0.5, rate=44100, channels=6)
    noise(tmp_path / "d.ogg", 0.5, rate=16000, channels=2)

    corpus = scan(tmp_path)

    assert len(corpus.utterances) == 4
    assert corpus.sample_rates == Counter({44100: 2, 8000: 1, 16000: 1})


def test_unreadable_files_are_listed_with_reasons_and_the_rest_is_scanned(tmp_path):
    good = noise(tmp_path / "good.wav", 0.5)
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(good.read_bytes()[:20] + bytes(range(256)) * 4)
    empty = tmp_path / "empty.flac"
    empty.touch()
    renamed = tmp_path / "notes.wav"
    renamed.write_text("this is a text file, not audio\n")
    later = noise(tmp_path / "z_later.wav", 0.5)

    corpus = scan(tmp_path)

    assert [u.path for u in corpus.utterances] == [good, later]
    reasons = dict(corpus.unreadable)
    assert set(reasons) == {corrupt, empty, renamed}
    assert "empty" in reasons[empty]
    assert all(reason and "\n" not in reason for reason in reasons.values())


def test_audio_without_transcript_and_transcripts_without_audio_are_reported(tmp_path):
    spoken(tmp_path / "said.wav", "said")
    (tmp_path / "said.txt").write_text("said")
    noise(tmp_path / "unsaid.wav", 0.5)
    (tmp_path / "missing.txt").write_text("nobody recorded this")
    (tmp_path / "list.tsv").write_text("path\ttext\nsaid.wav\tsaid\ngone.wav\tgone too\n")

    corpus = scan(tmp_path)

    assert corpus.without_text == [tmp_path / "unsaid.wav"]
    assert corpus.text_without_audio == [str(tmp_path / "missing.txt"), f"{tmp_path / 'list.tsv'}:3"]


def test_audio_beside_a_transcript_that_cannot_be_used_is_reported_as_lacking_one(tmp_path):
    noise(tmp_path / "a.wav", 0.5)
    (tmp_path / "a.txt").write_text("\n")

    assert scan(tmp_path).without_text == [tmp_path / "a.wav"]


def test_without_transcripts_at_all_no_audio_is_reported_as_lacking_one(tmp_path):
    noise(tmp_path / "a.wav", 0.5)
    noise(tmp_path / "b.wav", 0.5)

    corpus = scan(tmp_path)

    assert corpus.labelled == [] and corpus.without_text == []


def test_bad_transcripts_are_listed_and_their_audio_counts_as_unlabelled(tmp_path):
    noise(tmp_path / "blank.wav", 0.5)
    (tmp_path / "blank.txt").write_text("  \n")
    noise(tmp_path / "latin1.wav", 0.5)
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    noise(tmp_path / "twice.wav", 0.5)
    (tmp_path / "twice.txt").write_text("first")
    noise(tmp_path / "listed.wav", 0.5)
    (tmp_path / "rows.csv").write_bytes(
        "path,text\ntwice.wav,second\n,orphan text\nlatin1.wav,caf\xe9\nlisted.wav,listed\n".encode("latin-1")
    )

    corpus = scan(tmp_path)

    reasons = {(path.name, reason) for path, reason in corpus.unreadable}
    assert reasons == {
        ("blank.txt", "the transcript is empty"),
        ("latin1.txt", "not UTF-8 text"),
        ("rows.csv", f"line 2: twice.wav already has another transcript (from {tmp_path / 'twice.txt'}), "
                     "which is kept"),
        ("rows.csv", "line 3: no path"),
        ("rows.csv", "line 4: not UTF-8 text"),
    }
    assert {u.path.name: u.text for u in corpus.utterances} == {
        "blank.wav": None, "latin1.wav": None, "listed.wav": "listed", "twice.wav": "first",
    }


def test_characters_of_usable_transcripts_are_counted(tmp_path):
    spoken(tmp_path / "a.wav", "aha")
    (tmp_path / "a.txt").write_text("Aha ça")
    (tmp_path / "lost.txt").write_text("zzz")

    corpus = scan(tmp_path)

    assert corpus.characters == Counter({"a": 2, "A": 1, "h": 1, " ": 1, "ç": 1})


def test_a_missing_folder_or_one_without_audio_is_a_user_error(tmp_path):
    with pytest.raises(VivavoceError, match="no such folder") as missing:
        scan(tmp_path / "absent")
    assert str(tmp_path / "absent") in str(missing.value)

    (tmp_path / "only.txt").write_text("words")
    looked_for = r"no audio files \(looked for .wav, .flac, .ogg, .mp3\)"
    with pytest.raises(VivavoceError, match=looked_for) as empty:
        scan(tmp_path)
    assert str(tmp_path) in str(empty.value)


def test_progress_counts_every_audio_file(tmp_path):
    for name in ("a.wav", "b.wav", "c.wav"):
        noise(tmp_path / name, 0.2)
    (tmp_path / "d.wav").touch()
    calls = []

    scan(tmp_path, progress=lambda done, total: calls.append((done, total)))

    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


# The inspect-data report


def test_the_report_names_counts_rates_problems_and_characters(tmp_path):
    spoken(tmp_path / "speaker" / "hello.wav", "hello world")
    (tmp_path / "speaker" / "hello.txt").write_text("Hello world!")
    noise(tmp_path / "speaker" / "quiet.flac", 2.0, rate=48000)
    (tmp_path / "speaker" / "ghost.txt").write_text("ghost")
    (tmp_path / "broken.wav").write_text("not audio")

    text = report(scan(tmp_path))

    assert "Usable utterances: 2" in text
    assert "With transcripts: 1" in text
    assert "#" in text  # the histogram's bars
    assert "22050 Hz: 1" in text and "48000 Hz: 1" in text
    assert "broken.wav: not a readable audio file" in text
    assert "Audio without transcript: 1" in text and "speaker/quiet.flac" in text
    assert "Transcripts without audio: 1" in text and "speaker/ghost.txt" in text
    assert "Characters in transcripts: 9" in text and "space 1" in text and "l 3" in text and "! 1" in text


def test_the_report_caps_long_lists_of_names(tmp_path):
    noise(tmp_path / "a.wav", 0.2)
    for i in range(30):
        (tmp_path / f"orphan{i:02d}.txt").write_text("words")

    text = report(scan(tmp_path))

    assert "Transcripts without audio: 30" in text
    assert "orphan00.txt" in text and "orphan29.txt" not in text
    assert "... and 10 more" in text


def test_the_report_says_a_folder_without_transcripts_serves_pretraining(tmp_path):
    noise(tmp_path / "a.wav", 61.0, rate=8000)

    text = report(scan(tmp_path))

    assert "With transcripts: none" in text and "pretraining" in text
    assert "0:01:01" in text


# Splitting, filtering and batching


def test_split_is_reproducible_disjoint_and_complete():
    items = utterances(*[1.0] * 50)

    train, valid = split(items, 0.1, seed=3)

    assert len(valid) == 5 and len(train) == 45
    assert sorted(train + valid, key=lambda u: u.path) == items
    assert split(items, 0.1, seed=3) == (train, valid)
    assert split(items, 0.1, seed=4)[1] != valid


def test_split_keeps_one_utterance_for_validation_when_the_fraction_rounds_to_none():
    assert [len(part) for part in split(utterances(1.0, 2.0, 3.0), 0.01, seed=0)] == [2, 1]
    assert [len(part) for part in split(utterances(1.0, 2.0), 0.9, seed=0)] == [1, 1]
    assert [len(part) for part in split(utterances(1.0), 0.5, seed=0)] == [1, 0]
    assert [len(part) for part in split(utterances(1.0, 2.0), 0.0, seed=0)] == [2, 0]


def test_split_rejects_a_fraction_outside_zero_to_one():
    with pytest.raises(VivavoceError, match="1.5"):
        split(utterances(1.0, 2.0), 1.5, seed=0)


def test_drop_long_keeps_what_fits_and_counts_the_rest():
    kept, skipped = drop_long(utterances(1.0, 20.0, 5.0, 30.5), max_seconds=20.0)

    assert [u.duration for u in kept] == [1.0, 20.0, 5.0]
    assert skipped == 1


DURATIONS = [float(d) for d in np.random.default_rng(0).uniform(0.5, 12.0, size=200)] + [40.0]


def test_length_batches_cover_every_index_once_within_the_padded_budget():
    batches = length_batches(DURATIONS, max_batch_seconds=60.0, seed=0, epoch=0)

    assert sorted(i for batch in batches for i in batch) == list(range(len(DURATIONS)))
    for batch in batches:
        assert len(batch) == 1 or len(batch) * max(DURATIONS[i] for i in batch) <= 60.0
    assert [40.0] in [[DURATIONS[i] for i in batch] for batch in batches]  # too long for the budget: alone


def test_length_batches_group_similar_lengths():
    batches = length_batches(DURATIONS, max_batch_seconds=60.0, seed=0, epoch=0, shuffle=False)

    spans = [(min(DURATIONS[i] for i in b), max(DURATIONS[i] for i in b)) for b in batches]
    assert spans == sorted(spans)
    assert all(high <= low for (_, high), (low, _) in zip(spans, spans[1:]))  # batches do not overlap


def test_length_batches_are_deterministic_per_seed_and_epoch_and_reshuffled_each_epoch():
    first = length_batches(DURATIONS, 60.0, seed=1, epoch=0)

    assert length_batches(DURATIONS, 60.0, seed=1, epoch=0) == first
    assert length_batches(DURATIONS, 60.0, seed=1, epoch=1) != first
    assert length_batches(DURATIONS, 60.0, seed=2, epoch=0) != first
    assert sorted(map(sorted, length_batches(DURATIONS, 60.0, seed=1, epoch=1))) == sorted(map(sorted, first))


# Reading waveforms


@pytest.fixture
def recordings(tmp_path) -> list[Utterance]:
    noise(tmp_path / "long.wav", 3.0, rate=22050, channels=2)
    noise(tmp_path / "short.flac", 0.5, rate=8000)
    return scan(tmp_path).utterances


def test_the_dataset_gives_whole_16k_mono_waveforms_without_a_crop(recordings):
    dataset = AudioDataset(recordings, normalize=False)

    waveform, index = dataset[0]

    assert len(dataset) == 2 and index == 0
    assert waveform.dtype == torch.float32 and waveform.shape == (3 * SAMPLE_RATE,)
    assert torch.equal(waveform, torch.from_numpy(load_audio(recordings[0].path)))


def offset_in(whole: np.ndarray, window: np.ndarray) -> int:
    """Where ``window`` starts in ``whole``: the best match of its first 32 samples."""
    starts = np.lib.stride_tricks.sliding_window_view(whole, 32)
    return int(np.abs(starts - window[:32]).max(axis=1).argmin())


def test_crops_are_windows_of_the_file_reproducible_by_seed_epoch_and_index(recordings):
    whole = load_audio(recordings[0].path)
    dataset = AudioDataset(recordings, crop_seconds=1.0, seed=7, normalize=False)

    crop, _ = dataset[0]
    offset = offset_in(whole, crop.numpy())

    assert crop.shape == (SAMPLE_RATE,)
    np.testing.assert_allclose(crop.numpy(), whole[offset : offset + SAMPLE_RATE], rtol=0, atol=1e-6)
    assert torch.equal(AudioDataset(recordings, crop_seconds=1.0, seed=7, normalize=False)[0][0], crop)
    offsets = set()
    for epoch in range(6):
        dataset.set_epoch(epoch)
        offsets.add(offset_in(whole, dataset[0][0].numpy()))
    assert len(offsets) > 1
    assert all(0 <= start <= len(whole) - SAMPLE_RATE for start in offsets)


def test_items_are_normalised_as_the_recogniser_normalises_them(recordings):
    raw = load_audio(recordings[0].path)
    waveform, _ = AudioDataset(recordings)[0]
    crop, _ = AudioDataset(recordings, crop_seconds=1.0)[0]

    assert abs(raw.std() - 1) > 0.1  # the test file is not already normalised
    np.testing.assert_allclose(waveform.numpy(), (raw - raw.mean()) / raw.std(), rtol=0, atol=1e-4)
    for x in (waveform, crop):
        assert abs(float(x.mean())) < 1e-4 and abs(float(x.std(unbiased=False)) - 1) < 1e-3


def test_an_utterance_shorter_than_the_crop_is_read_whole(recordings):
    waveform, index = AudioDataset(recordings, crop_seconds=1.0)[1]

    assert index == 1 and waveform.shape == (SAMPLE_RATE // 2,)


def test_collate_pads_with_zeros_and_reports_lengths():
    items = [(torch.ones(3), 4), (torch.full((5,), 2.0), 0), (torch.ones(1), 9)]

    batch, lengths, indices = collate(items)

    assert batch.shape == (3, 5) and batch.dtype == torch.float32
    assert lengths.tolist() == [3, 5, 1] and lengths.dtype == torch.long
    assert indices == [4, 0, 9]
    assert batch[0].tolist() == [1, 1, 1, 0, 0] and batch[2].tolist() == [1, 0, 0, 0, 0]
    assert torch.equal(batch[1], torch.full((5,), 2.0))
