"""engine.stream: captions from audio fed as it arrives."""

import numpy as np
import pytest
import torch

from engine.audio import AudioFile, load_audio
from engine.model import Wav2Vec2
from engine.modelfolder import LoadedModel, ModelConfig, load_model_folder
from engine.presets import preset
from engine.recognizer import Recognizer
from engine.stream import WARM_UP, StreamingRecognizer
from engine.text import TextRules, Vocabulary
from training.metrics import character_error_rate

VOCAB = Vocabulary(("<pad>", "|", "a", "b", "c", "d"), blank=0)
BLOCK = 1600  # 0.1 s, as an audio callback delivers it


def lively_recognizer() -> Recognizer:
    """A random layer-norm model without input normalisation, whose every statistic is per frame,
    so that streaming must reproduce offline recognition exactly; its head writes many words."""
    torch.manual_seed(0)
    arch = preset("test", feature_norm="layer", quantizer=False, vocab_size=len(VOCAB))
    model = Wav2Vec2(arch)
    with torch.no_grad():
        model.ctc_head.weight.normal_(0, 3.0)
    config = ModelConfig("ctc", arch, VOCAB, TextRules("keep"), normalize_input=False, name="lively")
    return Recognizer(LoadedModel(config, model), torch.device("cpu"))


def noise(seconds: float, seed: int = 0) -> np.ndarray:
    return (0.3 * np.random.default_rng(seed).standard_normal(int(seconds * 16000))).astype(np.float32)


def stream(recognizer, audio, **settings):
    streaming = StreamingRecognizer(recognizer, **settings)
    events = []
    for start in range(0, len(audio), BLOCK):
        events += streaming.feed(audio[start:start + BLOCK])
    return events + streaming.flush()


def test_a_segment_holding_the_whole_utterance_ends_exactly_as_offline_recognition():
    recognizer = lively_recognizer()
    audio = noise(4.0)

    events = stream(recognizer, audio, max_segment=30.0, endpoint_silence=30.0)

    offline = recognizer.transcribe_samples(audio)
    finals = [e for e in events if e.kind == "final"]
    assert len(finals) == 1 and len(offline.text) > 40
    assert [(w.text, w.start, w.end) for w in finals[0].words] == [(w.text, w.start, w.end) for w in offline.words]


def test_partials_come_while_audio_arrives_and_finals_never_overlap():
    recognizer = lively_recognizer()

    events = stream(recognizer, noise(12.0), max_segment=3.0, endpoint_silence=30.0)

    kinds = [e.kind for e in events]
    # An update each hop (0.25 s, so every third 0.1 s block) once the first second is in: 37.
    assert kinds.count("partial") >= 35
    finals = [w for e in events if e.kind == "final" for w in e.words]
    assert sum(e.kind == "final" for e in events) >= 3  # the maximum segment length forces finals
    assert all(a.end <= b.start for a, b in zip(finals, finals[1:]))
    assert finals[-1].end <= 12.0 + 0.02


def test_the_feature_encoder_sees_each_sample_about_once():
    recognizer = lively_recognizer()
    seen = []
    hook = recognizer.model.feature_encoder.blocks[0].conv.register_forward_hook(
        lambda module, inputs, output: seen.append(inputs[0].shape[-1]))
    audio = noise(10.0)

    stream(recognizer, audio)
    hook.remove()

    # Each update re-reads only the 80 samples its first new frame shares with the last one.
    assert sum(seen) <= len(audio) + 80 * len(seen)



def silent_recognizer() -> Recognizer:
    """A random model whose head always writes blank: to it, everything is silence."""
    recognizer = lively_recognizer()
    with torch.no_grad():
        recognizer.model.ctc_head.weight.zero_()
        recognizer.model.ctc_head.bias.zero_()
        recognizer.model.ctc_head.bias[VOCAB.blank] = 10.0
    return recognizer


@pytest.mark.parametrize("make", [lively_recognizer, silent_recognizer], ids=["words", "silence"])
def test_what_the_recogniser_holds_stays_bounded_however_long_the_stream(make):
    """Ten minutes of unbroken words (finals forced by the maximum segment length), or of sound
    in which the model hears nothing: the audio and features kept between updates never exceed
    one segment, its context and a hop, so captions can run for hours."""
    recognizer = make()
    streaming = StreamingRecognizer(recognizer, hop=0.25, context=2.0, max_segment=3.0, endpoint_silence=30.0)
    hop_frames = int(0.25 / streaming.frame_seconds)
    most_features = streaming.context_frames + streaming.max_frames + hop_frames
    most_samples = max(WARM_UP, streaming.field + streaming.hop) + BLOCK  # the first second waits whole
    finals, held = 0, []
    for minute in range(10):
        audio = noise(60.0, seed=minute)
        for start in range(0, len(audio), BLOCK):
            finals += sum(e.kind == "final" for e in streaming.feed(audio[start:start + BLOCK]))
            held.append((len(streaming.features), len(streaming.samples)))

    assert max(f for f, _ in held) <= most_features
    assert max(s for _, s in held) <= most_samples
    assert streaming.first_frame > 590 / streaming.frame_seconds  # the stream really moved on
    assert (finals >= 150) if make is lively_recognizer else (finals == 0)

def test_streamed_text_is_as_accurate_as_transcribing_the_file(trained_model, tmp_path):
    import soundfile

    folder, clips = trained_model
    recognizer = Recognizer(load_model_folder(folder), torch.device("cpu"))
    pause = np.zeros(12000, np.float32)
    audio = np.concatenate([np.concatenate([load_audio(path), pause]) for path in clips])
    soundfile.write(tmp_path / "all.wav", audio, 16000)
    reference = " ".join(clips.values())

    with AudioFile(tmp_path / "all.wav") as file:
        offline = character_error_rate([reference], [recognizer.transcribe(file).text])
    streamed = character_error_rate([reference], [" ".join(e.text for e in stream(recognizer, audio)
                                                           if e.kind == "final")])

    assert streamed <= offline + 0.02, (streamed, offline)


def run_out_of_gpu_memory_once(recognizer, monkeypatch) -> list[str]:
    """The next Transformer pass fails as a full GPU would fail it: as if the model had been on
    "cuda", torch raises OutOfMemoryError. (No GPU here: only the recogniser's record of its device
    says "cuda" at that moment; the recovery that follows is the real one.) Returns the warnings."""
    warnings = []
    recognizer.on_warning = warnings.append
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Pretend GPU")
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    failed = []

    def out_of_memory(module, args):
        if not failed:
            failed.append(True)
            recognizer.device = torch.device("cuda")
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    recognizer.model.transformer.register_forward_pre_hook(out_of_memory)
    return warnings


def test_running_out_of_gpu_memory_mid_stream_moves_captions_to_the_cpu_with_a_warning(monkeypatch):
    audio = noise(6.0)
    expected = stream(lively_recognizer(), audio, max_segment=3.0, endpoint_silence=30.0)
    recognizer = lively_recognizer()
    warnings = run_out_of_gpu_memory_once(recognizer, monkeypatch)

    events = stream(recognizer, audio, max_segment=3.0, endpoint_silence=30.0)

    assert warnings == ["the GPU (Pretend GPU) ran out of memory; recognition continues on the CPU, more slowly"]
    assert recognizer.device.type == "cpu" and recognizer.dtype == torch.float32
    assert [(e.kind, e.text) for e in events] == [(e.kind, e.text) for e in expected]
    assert any(e.kind == "final" and e.text for e in events)


def test_running_out_of_gpu_memory_while_transcribing_continues_on_the_cpu(monkeypatch):
    audio = noise(4.0)
    expected = lively_recognizer().transcribe_samples(audio).text
    recognizer = lively_recognizer()
    warnings = run_out_of_gpu_memory_once(recognizer, monkeypatch)

    assert recognizer.transcribe_samples(audio).text == expected and expected
    assert len(warnings) == 1 and recognizer.device.type == "cpu"


def test_running_out_of_memory_on_the_cpu_is_not_hidden(monkeypatch):
    recognizer = lively_recognizer()

    def out_of_memory(module, args):
        raise torch.OutOfMemoryError("out of memory")

    recognizer.model.transformer.register_forward_pre_hook(out_of_memory)
    with pytest.raises(torch.OutOfMemoryError):
        recognizer.transcribe_samples(noise(1.0))
