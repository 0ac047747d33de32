"""`vivavoce train pretrain|finetune|evaluate`: real runs on espeak-ng speech, small sizes."""

import json
import shutil
import signal
import subprocess
import time

import pytest
import soundfile
import torch
from safetensors.torch import load_file

from conftest import VIVAVOCE, speak
from engine.model import Wav2Vec2
from engine.modelfolder import ModelConfig, save_model_folder
from engine.presets import preset
from engine.store import load_model
from engine.text import TextRules
from training.config import stop_file
from training.finetune import build_vocabulary, learning_rate_for
from training.metrics import character_error_rate
from training.events import Events
from training.schedule import budget_step, budget_steps, warmup_linear_decay

SENTENCES = [
    "the cat sat on the mat", "a quick brown fox jumps", "she sells sea shells", "every cloud has a lining",
    "the rain in spain", "actions speak louder than words", "better late than never", "birds of a feather",
    "the early bird catches the worm", "a picture is worth a thousand words", "all that glitters is not gold",
    "where there is smoke there is fire",
]
# Small runs: the `test` preset, a few seconds of audio a step, no worker processes.
QUICK = ["--preset", "test", "--batch-seconds", "12", "--crop-seconds", "3", "--workers", "0",
         "--log-every", "1"]


@pytest.fixture(scope="module")
def speech_folder(tmp_path_factory):
    """Twelve espeak-ng sentences (about 25 s) with a transcript beside each, in three voices."""
    folder = tmp_path_factory.mktemp("speech")
    for i, text in enumerate(SENTENCES):
        speak(text, folder / f"s{i:02}.wav", voice=("en-us", "en-gb", "en-us+f3")[i % 3], speed=150 + 5 * i)
        (folder / f"s{i:02}.txt").write_text(text + "\n")
    return folder


def events(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_inspect_data_reports_the_folder(vivavoce, speech_folder):
    result = vivavoce("train", "inspect-data", speech_folder)
    assert result.returncode == 0, result.stderr
    assert "12" in result.stdout and "22050" in result.stdout


def test_pretraining_writes_events_a_checkpoint_and_a_pretrained_model_folder(vivavoce, speech_folder, tmp_path):
    out, log = tmp_path / "pre", tmp_path / "events.jsonl"

    result = vivavoce("train", "pretrain", "--data", speech_folder, "--out", out, "--max-steps", "3",
                      "--events", log, *QUICK)

    assert result.returncode == 0, result.stderr
    assert "mask_prob = 0.65" in result.stdout  # the effective configuration, printed at start
    kinds = [e["event"] for e in events(log)]
    assert kinds[0] == "start" and kinds[-1] == "done" and "checkpoint" in kinds
    steps = [e for e in events(log) if e["event"] == "step"]
    assert [e["step"] for e in steps] == [1, 2, 3]
    assert {"loss", "contrastive", "diversity", "accuracy", "perplexity", "temperature", "lr",
            "audio_s_per_s", "data_wait"} <= set(steps[0])
    assert json.loads((out / "config.json").read_text())["kind"] == "pretrained"
    assert (out / "training" / "config.toml").read_text().count("max_steps = 3") == 1
    assert (out / "training" / "checkpoint.pt").is_file()


def test_a_time_budget_ends_the_run_and_keeps_its_model(vivavoce, speech_folder, tmp_path):
    # A budget far shorter than any step: the first step spends it, and a checkpoint and model are
    # written as for a run that reached --max-steps.
    out, log = tmp_path / "pre", tmp_path / "events.jsonl"

    result = vivavoce("train", "pretrain", "--data", speech_folder, "--out", out, "--max-steps", "50",
                      "--max-minutes", "1e-7", "--events", log, *QUICK)

    assert result.returncode == 0, result.stderr
    steps = [e for e in events(log) if e["event"] == "step"]
    assert [e["step"] for e in steps] == [1]
    assert (out / "model.safetensors").exists() and (out / "training" / "checkpoint.pt").exists()


def test_the_schedule_follows_the_share_of_the_time_budget_when_it_is_further_along():
    assert budget_step(10, 100, seconds=30, max_minutes=0) == 10  # no budget: the step
    assert budget_step(10, 100, seconds=30, max_minutes=1) == 50  # half the minute, half the steps
    assert budget_step(70, 100, seconds=30, max_minutes=1) == 70  # steps ahead of the time
    assert budget_step(10, 100, seconds=90, max_minutes=1) == 100  # overspent: the schedule's end
    # the warm-up then the decay of the pretraining schedule, run on the time spent
    rates = [warmup_linear_decay(budget_step(1, 1000, s, 1), 1000, 1.0, 0.1) for s in (3, 30, 54, 60)]
    assert rates == [0.51, 0.5555555555555556, 0.1111111111111111, 0.0]


def test_the_progress_bar_counts_the_steps_that_fit_in_the_time_budget(tmp_path):
    assert budget_steps(10, 1000, seconds=20, max_minutes=0) == 1000  # no budget
    assert budget_steps(10, 1000, seconds=20, max_minutes=1) == 30  # 2 s a step: 30 fit in a minute
    assert budget_steps(10, 20, seconds=20, max_minutes=1) == 20  # max_steps comes first
    assert budget_steps(10, 1000, seconds=90, max_minutes=1) == 10  # overspent: this step is the last
    bar = Events(str(tmp_path / "events.jsonl"), 1000, 0)
    bar.step(10, {"loss": 1.0}, True, total=30)
    bar.close()
    assert bar.bar.total == 30  # (the bar itself is hidden here: stderr is not a terminal)
    assert [e["step"] for e in events(tmp_path / "events.jsonl")] == [10]


def test_pretraining_learns_the_contrastive_task_without_codebook_collapse(vivavoce, speech_folder, tmp_path):
    # A 40 k-parameter model on 25 s of speech: over its last 100 of 400 steps it
    # picks the true target among 21 candidates about six times as often as
    # chance (measured 0.26 against 0.048; 0.44 after 800 steps).
    log = tmp_path / "events.jsonl"

    result = vivavoce("train", "pretrain", "--data", speech_folder, "--out", tmp_path / "pre",
                      "--max-steps", "400", "--num-negatives", "20", "--learning-rate", "3e-3",
                      "--events", log, *QUICK)

    assert result.returncode == 0, result.stderr
    late = [e for e in events(log) if e["event"] == "step"][-100:]
    chance = 1 / 21
    assert sum(e["accuracy"] for e in late) / len(late) > 4 * chance
    codebook = 2 * 16  # G x V of the test preset
    assert min(e["perplexity"] for e in late) > codebook / 4
    assert not [e for e in events(log) if e["event"] == "warning"]  # learning: no "not learning" warning


def test_pretraining_that_stays_at_chance_says_so_and_goes_on(vivavoce, speech_folder, tmp_path):
    # The same run with a learning rate far too small to move the weights: the model stays
    # as it began, picking the target at chance (0.05 of the time with 20 distractors).
    log = tmp_path / "events.jsonl"

    result = vivavoce("train", "pretrain", "--data", speech_folder, "--out", tmp_path / "pre",
                      "--max-steps", "310", "--num-negatives", "20", "--learning-rate", "1e-7",
                      "--events", log, *QUICK)

    assert result.returncode == 0, result.stderr
    warnings = [e for e in events(log) if e["event"] == "warning"]
    assert len(warnings) == 1 and "pretraining is not learning" in warnings[0]["message"]
    assert "--diversity-weight 0" in warnings[0]["message"]
    assert "vivavoce: warning: pretraining is not learning" in result.stderr
    assert (tmp_path / "pre" / "model.safetensors").is_file()  # the run went on to its end


def weights(folder):
    return load_file(folder / "model.safetensors")


@pytest.mark.parametrize("stop", ["ctrl-c", "stop file"])
def test_an_interrupted_run_resumes_to_the_same_weights_as_an_uninterrupted_one(vivavoce, speech_folder,
                                                                                tmp_path, stop):
    """Stopped by Ctrl-C, or by its stop file (how the app stops a run, Windows having no SIGTERM)."""
    steps = ["--max-steps", "8", "--seed", "3", *QUICK]
    straight = tmp_path / "straight"
    assert vivavoce("train", "pretrain", "--data", speech_folder, "--out", straight, *steps).returncode == 0

    interrupted, log = tmp_path / "interrupted", tmp_path / "events.jsonl"
    command = [str(VIVAVOCE), "train", "pretrain", "--data", str(speech_folder), "--out", str(interrupted),
               "--events", str(log), "--checkpoint-minutes", "60", *steps]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if log.exists() and any(e["event"] == "step" and e["step"] >= 3 for e in events(log)):
            break
        time.sleep(0.05)
    if stop == "ctrl-c":
        process.send_signal(signal.SIGINT)
    else:
        stop_file(interrupted).write_text("stop\n")
    _, stderr = process.communicate(timeout=300)

    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "--resume" in stderr
    stopped_at = [e for e in events(log) if e["event"] == "checkpoint"][-1]["step"]
    assert 3 <= stopped_at < 8
    assert not (interrupted / "model.safetensors").exists()  # no model until the run is done
    assert not stop_file(interrupted).exists()  # heeded, so that --resume is not stopped again

    resumed = vivavoce("train", "pretrain", "--data", speech_folder, "--out", interrupted, "--resume", *steps)

    assert resumed.returncode == 0, resumed.stderr
    a, b = weights(straight), weights(interrupted)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[name], b[name]) for name in a)


@pytest.fixture(scope="module")
def random_pretrained(tmp_path_factory):
    torch.manual_seed(0)
    arch = preset("tiny", conv_channels=(64,) * 7, hidden_size=96, num_layers=2, num_heads=4, ffn_size=192,
                  pos_conv_kernel=32, pos_conv_groups=8, codebook_entries=32, codevector_dim=64,
                  projection_dim=32)
    folder = tmp_path_factory.mktemp("init") / "random-init"
    return save_model_folder(Wav2Vec2(arch), ModelConfig("pretrained", arch, name="random-init"), folder,
                             card="# random-init\n")


def test_finetuning_makes_a_model_that_transcribes_and_evaluates(vivavoce, speech_folder, random_pretrained,
                                                                 tmp_path):
    out, log = tmp_path / "tuned", tmp_path / "events.jsonl"

    result = vivavoce("train", "finetune", "--data", speech_folder, "--init", random_pretrained, "--out", out,
                      "--max-steps", "150", "--learning-rate", "2e-3", "--freeze-transformer-steps", "0",
                      "--mask-prob", "0", "--channel-mask-prob", "0", "--valid-fraction", "0",
                      "--batch-seconds", "30", "--workers", "0", "--events", log)

    assert result.returncode == 0, result.stderr
    config = json.loads((out / "config.json").read_text())
    assert config["kind"] == "ctc" and config["vocabulary"]["tokens"][:2] == ["<pad>", "|"]
    assert "training/config.toml" in (out / "README.md").read_text()
    clip = speech_folder / "s00.wav"
    heard = vivavoce("transcribe", clip, "--model", out)
    assert character_error_rate([SENTENCES[0]], [heard.stdout.strip()]) < 0.2

    evaluation = vivavoce("train", "evaluate", "--model", out, "--data", speech_folder, "--worst", "2")
    assert evaluation.returncode == 0, evaluation.stderr
    assert "CER" in evaluation.stdout and evaluation.stdout.count("ref:") == 2


def test_finetuning_validates_each_epoch_and_keeps_the_best(vivavoce, speech_folder, random_pretrained, tmp_path):
    out, log = tmp_path / "tuned", tmp_path / "events.jsonl"

    result = vivavoce("train", "finetune", "--data", speech_folder, "--init", random_pretrained, "--out", out,
                      "--max-steps", "12", "--valid-fraction", "0.25", "--batch-seconds", "20", "--workers", "0",
                      "--freeze-transformer-steps", "4", "--log-every", "1", "--events", log)

    assert result.returncode == 0, result.stderr
    evaluations = [e for e in events(log) if e["event"] == "evaluation"]
    assert len(evaluations) >= 2 and all({"cer", "wer"} <= set(e) for e in evaluations)
    best = min(e["cer"] for e in evaluations)
    assert f"CER {100 * best:.1f}%" in (out / "README.md").read_text()
    frozen = [e["frozen"] for e in events(log) if e["event"] == "step"]
    assert frozen[:4] == [1.0] * 4 and frozen[-1] == 0.0


def test_only_a_new_output_layer_waits_for_the_transformer_by_default(vivavoce, speech_folder, random_pretrained,
                                                                      tmp_path):
    quick = ["--max-steps", "2", "--valid-fraction", "0", "--batch-seconds", "20", "--workers", "0",
             "--log-every", "1"]
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"

    new_head = vivavoce("train", "finetune", "--data", speech_folder, "--init", random_pretrained, "--out",
                        tmp_path / "tuned", "--events", first, *quick)
    kept_head = vivavoce("train", "finetune", "--data", speech_folder, "--init", tmp_path / "tuned", "--out",
                         tmp_path / "adapted", "--events", second, *quick)

    assert new_head.returncode == 0 and kept_head.returncode == 0, new_head.stderr + kept_head.stderr
    assert [e["frozen"] for e in events(first) if e["event"] == "step"] == [1.0, 1.0]
    assert [e["frozen"] for e in events(second) if e["event"] == "step"] == [0.0, 0.0]
    saved = (tmp_path / "adapted" / "training" / "config.toml").read_text()
    assert "freeze_transformer_steps = 0" in saved
    assert "learning_rate = 0.0005" in saved  # chosen by the width (96), as saved for --resume


def test_a_recogniser_is_judged_before_fine_tuning_and_never_comes_out_worse(vivavoce, speech_folder,
                                                                            random_pretrained, tmp_path):
    quick = ["--valid-fraction", "0.25", "--batch-seconds", "20", "--workers", "0", "--log-every", "1"]
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    assert vivavoce("train", "finetune", "--data", speech_folder, "--init", random_pretrained, "--out",
                    tmp_path / "tuned", "--max-steps", "40", "--learning-rate", "2e-3", "--eval-every", "40",
                    "--freeze-transformer-steps", "0", "--events", first, *quick).returncode == 0
    # A new output layer transcribes nothing before training: no point judging it first.
    assert [e["step"] for e in events(first) if e["event"] == "evaluation"] == [40]

    # Its output layer kept, a model is judged at step 0; at a learning rate that wrecks it, the
    # result is the model it started from, and its card says so.
    result = vivavoce("train", "finetune", "--data", speech_folder, "--init", tmp_path / "tuned", "--out",
                      tmp_path / "wrecked", "--max-steps", "3", "--learning-rate", "1", "--eval-every", "3",
                      "--events", second, *quick)

    assert result.returncode == 0, result.stderr
    evaluations = [e for e in events(second) if e["event"] == "evaluation"]
    assert [e["step"] for e in evaluations] == [0, 3] and evaluations[1]["cer"] > evaluations[0]["cer"]
    start, end = weights(tmp_path / "tuned"), weights(tmp_path / "wrecked")
    assert all(torch.equal(start[name], end[name]) for name in start)
    card = (tmp_path / "wrecked" / "README.md").read_text()
    assert f"before fine-tuning: CER {100 * evaluations[0]['cer']:.1f}%" in card and "did not do better" in card


SPANISH = ["el niño come una manzana", "mañana será otro día", "la canción está aquí", "el señor habló despacio",
           "qué tal estás hoy", "un árbol en el jardín"]


def test_a_recogniser_given_another_alphabet_gets_a_new_vocabulary_on_its_trained_network(
        vivavoce, speech_folder, random_pretrained, tmp_path):
    quick = ["--max-steps", "2", "--valid-fraction", "0", "--batch-seconds", "20", "--workers", "0",
             "--log-every", "1"]
    assert vivavoce("train", "finetune", "--data", speech_folder, "--init", random_pretrained, "--out",
                    tmp_path / "english", *quick).returncode == 0
    spanish = tmp_path / "spanish"
    spanish.mkdir()
    for i, text in enumerate(SPANISH):
        speak(text, spanish / f"{i}.wav", voice="es")
        (spanish / f"{i}.txt").write_text(text + "\n")
    log = tmp_path / "events.jsonl"

    result = vivavoce("train", "finetune", "--data", spanish, "--init", tmp_path / "english", "--out",
                      tmp_path / "spanish-model", "--events", log, "--learning-rate", "0", *quick)

    assert result.returncode == 0, result.stderr
    tokens = json.loads((tmp_path / "spanish-model" / "config.json").read_text())["vocabulary"]["tokens"]
    assert {"ñ", "á", "é", "í", "ó"} <= set(tokens)
    warning = next(e["message"] for e in events(log) if e["event"] == "warning")
    assert "6 of 6 transcripts use characters" in warning and all(c in warning for c in "áéíñó")
    saved = (tmp_path / "spanish-model" / "training" / "config.toml").read_text()
    assert 'vocabulary = "new"' in saved and "freeze_transformer_steps = 1000" in saved  # a new, random head
    # The network it learnt on English is where the Spanish one starts (a learning rate of 0 keeps it
    # as it was), under a new output layer, even where the two vocabularies have the same size.
    english, new = weights(tmp_path / "english"), weights(tmp_path / "spanish-model")
    shared = [name for name in english if not name.startswith("ctc_head.")]
    assert shared and all(torch.equal(english[name], new[name]) for name in shared)
    assert new["ctc_head.weight"].shape[0] == len(tokens)
    assert new["ctc_head.weight"].shape != english["ctc_head.weight"].shape or not torch.equal(
        new["ctc_head.weight"], english["ctc_head.weight"])

    # Asked to keep its vocabulary, it can write none of these transcripts, and says so.
    kept = vivavoce("train", "finetune", "--data", spanish, "--init", tmp_path / "english", "--out",
                    tmp_path / "kept", "--vocabulary", "keep", *quick)
    assert kept.returncode == 2 and "only 0 of 6 transcripts can be written" in kept.stderr
    assert "--vocabulary new" in kept.stderr and not (tmp_path / "kept" / "model.safetensors").exists()
    bad = vivavoce("train", "finetune", "--data", spanish, "--init", tmp_path / "english", "--out",
                   tmp_path / "bad", "--vocabulary", "mine", *quick)
    assert bad.returncode == 2 and "--vocabulary mine: choose one of auto, keep, new" in bad.stderr


def test_the_default_learning_rate_falls_with_the_square_of_the_width():
    assert learning_rate_for(256) == 5e-4  # the bundled model: the rate measured best for adapting it
    assert learning_rate_for(96) == 5e-4  # never above
    assert learning_rate_for(768) == pytest.approx(5.6e-5, rel=0.01)  # BASE; fairseq: 5e-5
    assert learning_rate_for(1024) == pytest.approx(3.1e-5, rel=0.01)  # LARGE; fairseq: 3e-5


def test_a_recogniser_fine_tuned_keeps_its_language_model(vivavoce, speech_folder, random_pretrained, tmp_path):
    quick = ["--max-steps", "2", "--valid-fraction", "0", "--batch-seconds", "20", "--workers", "0"]
    text = tmp_path / "sentences.txt"
    text.write_text("\n".join(SENTENCES) + "\n")
    assert vivavoce("train", "finetune", "--data", speech_folder, "--init", random_pretrained, "--out",
                    tmp_path / "tuned", *quick).returncode == 0
    assert vivavoce("train", "lm", "--model", tmp_path / "tuned", "--out", tmp_path / "with-lm", "--text", text,
                    "--order", "3", "--weight", "0.5").returncode == 0

    result = vivavoce("train", "finetune", "--data", speech_folder, "--init", tmp_path / "with-lm", "--out",
                      tmp_path / "adapted", *quick)

    assert result.returncode == 0, result.stderr
    source, adapted = (json.loads((tmp_path / name / "config.json").read_text()) for name in ("with-lm", "adapted"))
    assert adapted["language_model"] == source["language_model"]
    lm_file = source["language_model"]["file"]
    assert (tmp_path / "adapted" / lm_file).read_bytes() == (tmp_path / "with-lm" / lm_file).read_bytes()
    assert "with its language model for beam search" in (tmp_path / "adapted" / "README.md").read_text()
    assert vivavoce("transcribe", speech_folder / "s00.wav", "--model", tmp_path / "adapted").returncode == 0


def test_finetuning_validates_its_last_step_too(vivavoce, speech_folder, random_pretrained, tmp_path):
    # The end of a run, at its lowest learning rate, is where the best model usually is.
    log = tmp_path / "events.jsonl"

    result = vivavoce("train", "finetune", "--data", speech_folder, "--init", random_pretrained, "--out",
                      tmp_path / "tuned", "--max-steps", "7", "--eval-every", "3", "--valid-fraction", "0.25",
                      "--batch-seconds", "20", "--workers", "0", "--events", log)

    assert result.returncode == 0, result.stderr
    assert [e["step"] for e in events(log) if e["event"] == "evaluation"] == [3, 6, 7]


def test_finetuning_can_add_layers_that_start_as_the_identity(vivavoce, speech_folder, tmp_path):
    # A pre-norm CTC model, made deeper by two layers and trained at a learning rate of zero,
    # computes exactly what it did: the new layers begin as the identity, in the saved folder too.
    torch.manual_seed(0)
    vocabulary = build_vocabulary(SENTENCES)
    arch = preset("test", pre_norm=True, quantizer=False, vocab_size=len(vocabulary))
    shallow = save_model_folder(Wav2Vec2(arch), ModelConfig("ctc", arch, vocabulary, TextRules("lower")),
                                tmp_path / "shallow", card="# shallow\n")

    result = vivavoce("train", "finetune", "--data", speech_folder, "--init", shallow, "--out",
                      tmp_path / "deeper", "--add-layers", "2", "--max-steps", "2", "--learning-rate", "0",
                      "--freeze-transformer-steps", "0", "--mask-prob", "0", "--channel-mask-prob", "0",
                      "--valid-fraction", "0", "--batch-seconds", "10", "--workers", "0")

    assert result.returncode == 0, result.stderr
    before, after = load_model(str(shallow)), load_model(str(tmp_path / "deeper"))
    assert (before.model.arch.num_layers, after.model.arch.num_layers) == (2, 4)
    audio = torch.from_numpy(soundfile.read(speech_folder / "s00.wav", dtype="float32")[0])[None]
    with torch.no_grad():
        assert torch.equal(before.model.eval().ctc_logits(audio), after.model.eval().ctc_logits(audio))


def test_only_a_pre_norm_model_can_be_given_layers(vivavoce, speech_folder, random_pretrained, tmp_path):
    result = vivavoce("train", "finetune", "--data", speech_folder, "--init", random_pretrained, "--out",
                      tmp_path / "deeper", "--add-layers", "1", "--workers", "0")

    assert result.returncode == 2
    assert "--add-layers" in result.stderr and "post-norm" in result.stderr and str(random_pretrained) in result.stderr
    assert not (tmp_path / "deeper").exists()


def test_too_little_data_is_refused_with_the_reason(vivavoce, speech_folder, tmp_path):
    few = tmp_path / "few"
    few.mkdir()
    for name in ("s00.wav", "s00.txt", "s01.wav"):
        shutil.copy(speech_folder / name, few / name)
    (few / "broken.wav").write_text("not audio")

    result = vivavoce("train", "pretrain", "--data", few, "--out", tmp_path / "out", *QUICK)

    assert result.returncode == 2
    assert str(few) in result.stderr and "needs at least" in result.stderr and "1 unreadable" in result.stderr
    assert not (tmp_path / "out").exists()


def test_missing_required_settings_are_named(vivavoce, speech_folder):
    result = vivavoce("train", "finetune", "--data", speech_folder)
    assert result.returncode == 2 and "--init" in result.stderr and "--out" in result.stderr


def test_two_processes_train_like_one_process_with_the_same_global_batch(vivavoce, speech_folder, tmp_path):
    # torchrun's two gloo processes each take every other batch; one process
    # accumulating two batches per step sees the same global batch.
    import sys

    settings = ["--data", str(speech_folder), "--max-steps", "4", "--seed", "5", *QUICK]
    single = vivavoce("train", "pretrain", "--out", tmp_path / "one", "--accumulate", "2", *settings)
    assert single.returncode == 0, single.stderr
    distributed = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "training", "pretrain", "--out", str(tmp_path / "two"), "--device", "cpu", *settings],
        capture_output=True, text=True, timeout=600)
    assert distributed.returncode == 0, distributed.stderr

    a, b = weights(tmp_path / "one"), weights(tmp_path / "two")
    assert a.keys() == b.keys()
    worst = max((a[name] - b[name]).abs().max().item() for name in a)
    assert worst < 1e-5
    torch.manual_seed(5)  # the run's own initial model, to show that training moved it
    initial = Wav2Vec2(preset("test", quantizer=True, vocab_size=0)).state_dict()
    assert max((a[name] - initial[name]).abs().max().item() for name in a) > 100 * worst


def test_settings_come_from_the_toml_file_then_flags_and_bad_files_are_skipped_with_a_warning(
        vivavoce, speech_folder, tmp_path):
    data = shutil.copytree(speech_folder, tmp_path / "data")
    (data / "broken.wav").write_bytes(b"RIFF\x00\x00not really a wave file")
    settings = tmp_path / "run.toml"
    settings.write_text('max_steps = 2\nseed = 9\nmask_prob = 0.5\nnum_negatives = 7\n')
    out, log = tmp_path / "pre", tmp_path / "events.jsonl"

    result = vivavoce("train", "pretrain", "--config", settings, "--data", data, "--out", out, "--seed", "4",
                      "--events", log, *QUICK)

    assert result.returncode == 0, result.stderr
    saved = (out / "training" / "config.toml").read_text()
    assert "max_steps = 2" in saved and "mask_prob = 0.5" in saved and "num_negatives = 7" in saved
    assert "seed = 4" in saved  # the flag wins over the file
    warnings = [e["message"] for e in events(log) if e["event"] == "warning"]
    assert any("broken.wav" in message for message in warnings)
    assert "broken.wav" in result.stderr


def test_a_user_error_is_an_error_event_too(vivavoce, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    log = tmp_path / "events.jsonl"

    result = vivavoce("train", "pretrain", "--data", empty, "--out", tmp_path / "out", "--events", log)

    assert result.returncode == 2
    error, = [e for e in events(log) if e["event"] == "error"]
    assert str(empty) in error["message"] and error["message"] in result.stderr


def test_evaluation_breaks_its_totals_down_by_engine_or_by_source(vivavoce, trained_model, tmp_path):
    folder, clips = trained_model
    data = tmp_path / "data"
    (data / "audio").mkdir(parents=True)
    rows = ["path\ttext\tengine"]
    for i, (wav, text) in enumerate(list(clips.items())[:4]):
        name = f"{'espeak' if i % 2 else 'flite'}_{i}.wav"
        shutil.copy(wav, data / "audio" / name)
        (data / "audio" / name).with_suffix(".txt").write_text(text)
        rows.append(f"audio/{name}\t{text}\t{'espeak' if i % 2 else 'flite'}")
    (data / "manifest.tsv").write_text("\n".join(rows) + "\n")

    by_engine = vivavoce("train", "evaluate", "--model", folder, "--data", data, "--by", "engine")
    by_source = vivavoce("train", "evaluate", "--model", folder, "--data", data / "audio", "--by", "source")

    assert by_engine.returncode == 0, by_engine.stderr
    lines = by_engine.stdout.splitlines()
    assert lines[0].startswith("model tiny-overfit (greedy): 4 recordings, CER ")  # it has no language model
    assert lines[1].startswith("  espeak: 2 recordings, CER ") and lines[2].startswith("  flite: 2 recordings, CER ")
    assert by_source.returncode == 0, by_source.stderr
    assert by_source.stdout.splitlines()[1:3] == lines[1:3]  # the same groups, from the file names
    missing = vivavoce("train", "evaluate", "--model", folder, "--data", data / "audio", "--by", "engine")
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        f"vivavoce: error: {data / 'audio' / 'manifest.tsv'}: --by engine needs a synthetic corpus's manifest "
        "with path and engine columns (No such file or directory)"]
