"""Pronunciation practice: espeak-ng's phonemes of a sentence, phoneme models (trained, imported),
and the scores `vivavoce pronounce` and the practice window give real speech, right and wrong."""

import json
import re
import os
import subprocess
import threading
import time

import numpy as np
import pytest
import soundfile
import torch

from conftest import SINK, speak
from engine.phonemes import target_words, transcript
from engine.text import Vocabulary

SENTENCE = "The ship is cheap."
PER_BOUND = 30.0  # the bundled model reads held-out espeak-ng speech at 17.4% (its card)


# -- what a sentence should sound like -----------------------------------------------------------

def test_a_transcript_is_phonemes_between_spaces_and_bars_between_words():
    assert transcript(SENTENCE) == "ð ə | ʃ ɪ p | ɪ z | tʃ iː p"
    assert transcript("Hello there", "en-gb") == "h ə l əʊ | ð eə"  # the accent's own vowels


def test_each_written_word_gets_the_sounds_it_takes_in_the_sentence():
    words = target_words("I want to get out of the house at 3 o'clock, Mr. Smith.")
    assert [w.text for w in words] == ["I", "want", "to", "get", "out", "of", "the", "house", "at", "3",
                                       "o'clock", "Mr", "Smith"]
    sounds = {w.text: " ".join(w.phonemes) for w in words}
    # Weak forms, as the sentence is spoken (alone, "to" is t uː), and "out of" said as one word
    # (espeak-ng joins them) shared between its two written words.
    assert sounds["to"] == "t ə" and sounds["the"] == "ð ə"
    assert sounds["out"].startswith("aʊ") and sounds["of"].endswith("v")
    assert sounds["3"] == "θ ɹ iː" and sounds["Mr"] == "m ɪ s t ɚ"
    assert all(w.phonemes for w in words)


def test_a_phoneme_vocabulary_splits_transcripts_into_phonemes_and_round_trips():
    vocabulary = Vocabulary(("<pad>", "|", "ð", "ə", "ʃ", "ɪ", "p"), blank=0, phonemes=True)
    assert vocabulary.split("ð ə | ʃ ɪ p") == ["ð", "ə", "|", "ʃ", "ɪ", "p"]
    assert vocabulary.encode("ð ə | ʃ ɪ p") == [2, 3, 1, 4, 5, 6]
    assert vocabulary.encode("ð ə | ʃ iː p") is None  # a phoneme it lacks
    assert Vocabulary.from_dict(vocabulary.to_dict()) == vocabulary
    without_breaks = Vocabulary(("<pad>", "ð", "ə"), blank=0, delimiter=None, phonemes=True)
    assert without_breaks.encode("ð ə | ð ə") == [1, 2, 1, 2]
    characters = Vocabulary(("<pad>", "|", "a", "b"), blank=0)
    assert characters.encode("ab ba") == [2, 3, 1, 3, 2]


# -- training a phoneme model ------------------------------------------------------------------------

def test_fine_tuning_on_phoneme_transcripts_makes_a_phoneme_model(vivavoce, tmp_path, starter):
    corpus = tmp_path / "corpus"
    made = vivavoce("train", "synth", "--out", corpus, "--hours", "0.01", "--phonemes", "--engines", "espeak",
                    "--seed", "4")
    assert made.returncode == 0, made.stderr
    out = tmp_path / "model"
    args = ("--data", corpus, "--max-steps", "2", "--batch-seconds", "8", "--valid-fraction", "0.25",
            "--eval-every", "2", "--workers", "0")
    result = vivavoce("train", "finetune", "--init", starter, "--out", out, "--phonemes", *args)
    assert result.returncode == 0, result.stderr
    config = json.loads((out / "config.json").read_text())
    tokens = config["vocabulary"]["tokens"]
    assert config["kind"] == "phoneme" and config["vocabulary"]["phonemes"] is True
    assert {"ð", "ə", "|"} <= set(tokens) and any(len(t) > 1 and t != "<pad>" for t in tokens)
    assert "phoneme error rate" in (out / "README.md").read_text()
    # Adapting it again keeps its phonemes (and needs no --phonemes: it is a phoneme model).
    again = vivavoce("train", "finetune", "--init", out, "--out", tmp_path / "again", *args)
    assert again.returncode == 0, again.stderr
    assert json.loads((tmp_path / "again" / "config.json").read_text())["vocabulary"]["tokens"] == tokens
    # Words cannot be written with phonemes: asking to keep that vocabulary is refused in one line.
    words = vivavoce("train", "finetune", "--init", "default", "--out", tmp_path / "x", "--phonemes",
                     "--vocabulary", "keep", *args)
    assert words.returncode == 2 and "writes characters" in words.stderr


# -- the bundled phoneme model, on real espeak-ng speech -------------------------------------------

def test_evaluate_gives_a_phoneme_models_phoneme_error_rate(vivavoce, tmp_path):
    data = tmp_path / "held-out"
    made = vivavoce("train", "synth", "--out", data, "--hours", "0.005", "--phonemes", "--engines", "espeak",
                    "--test-set", "clean", "--seed", "5")
    assert made.returncode == 0, made.stderr
    result = vivavoce("train", "evaluate", "--model", "phonemes-en", "--data", data, "--worst", "1")
    assert result.returncode == 0, result.stderr
    summary = re.search(r"PER ([\d.]+)%, words wrong ([\d.]+)%", result.stdout.splitlines()[0])
    assert summary and float(summary[1]) < PER_BOUND, result.stdout
    assert " | " in result.stdout  # the worst recording's transcripts, in phonemes

def pronounce(vivavoce, wav, text, *extra):
    result = vivavoce("pronounce", wav, "--text", text, "--format", "json", *extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def word(result, text):
    return next(w for w in result["words"] if w["word"] == text)


@pytest.mark.parametrize("voice", ["en-us", "en-us+m3", "en-us+f2"])
def test_a_sentence_read_right_scores_well_in_every_word(vivavoce, tmp_path, voice):
    result = pronounce(vivavoce, speak(SENTENCE, tmp_path / "right.wav", voice, 150), SENTENCE)
    assert [w["word"] for w in result["words"]] == ["The", "ship", "is", "cheap"]
    assert all(w["good"] for w in result["words"]), result
    assert result["score"] >= 80 and result["model"] == "phonemes-en" and result["accent"] == "en-us"
    sounds = [s for w in result["words"] for s in w["sounds"]]
    assert [s["phoneme"] for s in sounds] == "ð ə ʃ ɪ p ɪ z tʃ iː p".split()
    starts = [s["start"] for s in sounds]
    assert starts == sorted(starts) and sounds[-1]["end"] <= result["duration"]


def test_sheep_for_ship_marks_that_vowel_and_what_was_heard(vivavoce, tmp_path):
    wrong = speak("The sheep is cheap.", tmp_path / "sheep.wav", "en-us", 150)
    result = pronounce(vivavoce, wrong, SENTENCE)
    ship = word(result, "ship")
    assert not ship["good"]
    vowel = ship["sounds"][1]
    assert vowel["phoneme"] == "ɪ" and not vowel["good"] and vowel["heard"] == "iː"
    assert ship["sounds"][0]["good"] and ship["sounds"][2]["good"]  # ʃ and p were right
    assert word(result, "cheap")["good"] and word(result, "The")["good"]
    right = pronounce(vivavoce, speak(SENTENCE, tmp_path / "ship.wav", "en-us", 150), SENTENCE)
    assert word(right, "ship")["sounds"][1]["score"] > vowel["score"] + 80  # the vowel, said right and wrong
    assert word(right, "ship")["score"] > ship["score"] + 20


@pytest.mark.parametrize("said, target, wrong_word", [
    ("I sink that is right.", "I think that is right.", "think"),  # th said as s
    ("The wed lorry.", "The red lorry.", "red"),  # r said as w
    ("We very rarely wear a west.", "We very rarely wear a vest.", "vest"),  # v said as w
])
def test_a_common_learner_substitution_marks_the_word_and_spares_the_rest(vivavoce, tmp_path, said, target,
                                                                         wrong_word):
    result = pronounce(vivavoce, speak(said, tmp_path / "said.wav", "en-us", 150), target)
    assert not word(result, wrong_word)["good"], result
    assert word(result, wrong_word)["sounds"][0]["good"] is False  # the first sound is the one changed
    others = [w for w in result["words"] if w["word"] != wrong_word]
    assert sum(w["good"] for w in others) >= len(others) - 1, result


def test_the_accent_chosen_is_the_one_a_reading_is_judged_by(vivavoce, tmp_path):
    text = "I rode home on the boat."
    wav = speak(text, tmp_path / "gb.wav", "en-gb", 150)
    british = pronounce(vivavoce, wav, text, "--accent", "en-gb")
    assert [s["phoneme"] for s in word(british, "home")["sounds"]] == ["h", "əʊ", "m"]
    assert all(w["good"] for w in british["words"]), british
    # The same British reading, judged as American English: its GOAT vowel is marked, heard as British.
    american = pronounce(vivavoce, wav, text, "--accent", "en-us")
    for name in ("rode", "home", "boat"):
        vowel = word(american, name)["sounds"][1]
        assert vowel["phoneme"] == "oʊ" and not vowel["good"] and vowel["heard"] == "əʊ", american
    assert word(american, "I")["good"] and word(american, "the")["good"]


def test_the_table_marks_the_wrong_word_and_sound(vivavoce, tmp_path):
    wrong = speak("The sheep is cheap.", tmp_path / "sheep.wav", "en-us", 150)
    result = vivavoce("pronounce", wrong, "--text", SENTENCE)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Score: ") and lines[1].startswith("Heard: ")
    ship = next(line for line in lines if " ship " in line)
    assert ship.startswith("✗") and "ɪ" in ship and "✗ iː" in ship
    assert next(line for line in lines if " cheap " in line).startswith("  ")


def test_pronounce_errors_are_one_line_with_status_2(vivavoce, tmp_path):
    silent = tmp_path / "silent.wav"
    soundfile.write(silent, np.zeros(32000, dtype=np.float32), 16000)
    short = tmp_path / "short.wav"
    soundfile.write(short, 0.1 * np.random.default_rng(0).standard_normal(800).astype(np.float32), 16000)
    speech = speak(SENTENCE, tmp_path / "s.wav")
    cases = [
        (("pronounce", silent, "--text", SENTENCE), "silent"),
        (("pronounce", short, "--text", "A much longer sentence than this recording could hold."), "too short"),
        (("pronounce", "--text", SENTENCE), "--mic"),
        (("pronounce", speech, "--mic", "--text", SENTENCE), "not both"),
        (("pronounce", speech, "--text", "   "), "--text"),
        (("pronounce", speech, "--text", SENTENCE, "--model", "default"), "phoneme model"),
        (("pronounce", tmp_path / "missing.wav", "--text", SENTENCE), "missing.wav"),
        (("pronounce", speech, "--text", SENTENCE, "--accent", "klingon"), "klingon"),
    ]
    for args, expected in cases:
        result = vivavoce(*args)
        assert result.returncode == 2, (args, result.stderr)
        # One line says what is wrong (a mistake in the arguments comes after the command's usage).
        errors = [line for line in result.stderr.splitlines() if line.startswith("vivavoce: error: ")]
        assert len(errors) == 1 and expected in errors[0], (args, result.stderr)
        assert result.stderr.strip().splitlines()[-1] == errors[0] and "Traceback" not in result.stderr


def test_without_espeak_ng_pronounce_says_what_to_install(vivavoce, tmp_path, monkeypatch):
    wav = speak(SENTENCE, tmp_path / "s.wav")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = vivavoce("pronounce", wav, "--text", SENTENCE)
    assert result.returncode == 2 and "espeak-ng is not installed" in result.stderr


def test_without_a_phoneme_model_the_message_says_so(no_bundled_model, vivavoce, tmp_path):
    from engine.errors import ModelError
    from engine.store import load_phoneme_model

    with pytest.raises(ModelError, match="no phoneme model is installed"):
        load_phoneme_model(None)
    result = vivavoce("pronounce", speak(SENTENCE, tmp_path / "s.wav"), "--text", SENTENCE,
                      "--model", tmp_path / "nothing")
    assert result.returncode == 2 and "nothing: no such model folder" in result.stderr


def test_pronounce_records_from_the_microphone_until_a_pause(null_sink, tmp_path):
    from conftest import VIVAVOCE

    wav = speak(SENTENCE, tmp_path / "say.wav", "en-us", 150)
    # The default microphone: the null sink's monitor, which the fixture made the default source.
    process = subprocess.Popen([str(VIVAVOCE), "pronounce", "--mic", "--text", SENTENCE, "--format", "json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    prompt = []

    def read_stderr():
        for line in process.stderr:
            prompt.append(line)

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    deadline = time.monotonic() + 60
    while not any(line.startswith("Say: ") for line in prompt):
        assert time.monotonic() < deadline and process.poll() is None, "".join(prompt)
        time.sleep(0.1)
    time.sleep(0.8)  # the room's quiet is measured first
    subprocess.run(["paplay", "-d", SINK, str(wav)], check=True, timeout=60)
    out, _ = process.communicate(timeout=60)
    reader.join(5)
    assert process.returncode == 0, "".join(prompt)
    result = json.loads(out)
    assert all(w["good"] for w in result["words"]), result
    assert result["file"] == ""


# -- a public phoneme model, in the Hugging Face layout ---------------------------------------------

PHONEMES = ["<pad>", "<s>", "</s>", "<unk>", "ð", "ə", "ʃ", "ɪ", "p", "z", "t", "i", "ː", "iː"]


def make_hf_phoneme_model(path):
    """A random Wav2Vec2ForCTC with a Wav2Vec2PhonemeCTCTokenizer, as facebook/wav2vec2-lv-60-espeak-cv-ft is
    laid out (phonemes without stress, no word delimiter)."""
    from transformers import Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC, Wav2Vec2PhonemeCTCTokenizer

    from hf_models import hf_config, perturb

    torch.manual_seed(3)
    model = Wav2Vec2ForCTC(hf_config(False, vocab_size=len(PHONEMES))).eval()
    perturb(model, 3)
    model.save_pretrained(path)
    vocab = path / "vocab.json"
    vocab.write_text(json.dumps({t: i for i, t in enumerate(PHONEMES)}, ensure_ascii=False))
    Wav2Vec2PhonemeCTCTokenizer(str(vocab), do_phonemize=False).save_pretrained(path)
    Wav2Vec2FeatureExtractor(do_normalize=True).save_pretrained(path)
    return model


def test_a_hugging_face_phoneme_model_imports_as_one_with_the_same_outputs(vivavoce, tmp_path):
    from engine.pronounce import PronunciationScorer
    from engine.recognizer import Recognizer
    from engine.store import load_model

    folder = tmp_path / "wav2vec2-espeak"
    folder.mkdir()
    reference = make_hf_phoneme_model(folder)
    result = vivavoce("models", "import", folder, "--name", "espeak-phonemes")
    assert result.returncode == 0, result.stderr
    loaded = load_model("espeak-phonemes")
    assert loaded.config.kind == "phoneme" and loaded.config.vocabulary.phonemes
    assert loaded.config.vocabulary.delimiter is None and list(loaded.config.vocabulary.tokens) == PHONEMES
    samples = 0.1 * np.random.default_rng(1).standard_normal(24000).astype(np.float32)
    recognizer = Recognizer(loaded, torch.device("cpu"))
    with torch.no_grad():
        expected = reference(torch.from_numpy((samples - samples.mean()) / np.sqrt(samples.var() + 1e-7))[None])
    ours = recognizer.log_probs(samples)
    torch.testing.assert_close(torch.from_numpy(ours), expected.logits[0].log_softmax(-1), atol=1e-4, rtol=1e-4)
    # It can score: "iː" is its own token, and "tʃ", which it lacks, is spelled with its characters.
    scored = PronunciationScorer(recognizer).assess(samples, "cheap")
    assert [s.phoneme for s in scored.words[0].sounds] == ["tʃ", "iː", "p"]
    assert scored.words[0].unscored == ()
    listed = vivavoce("models", "list")
    assert "espeak-phonemes" in listed.stdout and "phoneme" in listed.stdout


def test_bundled_phoneme_model_is_found_without_naming_it():
    from engine.store import load_phoneme_model, phoneme_models

    assert phoneme_models()[0].name == "phonemes-en" and phoneme_models()[0].bundled
    loaded = load_phoneme_model(None)
    assert loaded.config.kind == "phoneme" and loaded.config.vocabulary.phonemes
    # Every phoneme of the accents offered is one it can write.
    from engine.phonemes import ACCENTS, spoken_words

    for accent in ACCENTS:
        sounds = {p for w in spoken_words("The quick brown fox jumps over the lazy dog, thinking of "
                                          "measure, church, judge, sing, yellow and hair.", accent) for p in w}
        assert sounds <= set(loaded.config.vocabulary.tokens), (accent, sounds - set(loaded.config.vocabulary.tokens))


def test_the_phoneme_model_ships_small_with_a_card_that_says_how_far_to_trust_it():
    from engine.store import phoneme_models

    entry = phoneme_models()[0]
    size = sum(f.stat().st_size for f in entry.path.iterdir())
    assert size < 50 * 2**20
    card = (entry.path / "README.md").read_text(encoding="utf-8")
    for needed in ("packaging/train_phoneme_model.sh", "benchmarks/pronunciation.py", "real people",
                   "never heard", "--phonemes"):
        assert needed in card, needed
    assert "synthetic speech only" in entry.summary
