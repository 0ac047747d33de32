"""Live captions: word delays, real-time factor and CPU use, this recogniser vs re-running the window.

    .venv/bin/python benchmarks/streaming.py [--model NAME|PATH] [--seconds 60] [--device auto]

Feeds speech (espeak-ng sentences with pauses) in 0.1 s blocks as an audio
callback would and keeps a simulated clock: a block is available at its audio
time, and the recogniser can start on it only once it has finished the one
before, so time spent computing delays every later caption, as it would live.
For each final word: the delay from its end in the audio to its first
appearance in a partial and in a final caption (median, 95th percentile); and
for each final caption, the delay from the end of its last word to the final
(what a reader waits after a sentence before it stops changing).
Compared with the naive design of the popular streaming tools: at every hop,
run the whole model again on the whole window (context + segment) from scratch;
and (design `greedy`) with this recogniser decoding without the model's
language model, to show what its beam search costs live.
Without --model, a random model of --preset (default `small`) stands in (its
words are nonsense and it never pauses, but the cost is what is measured).
--max-segment, --context and --endpoint-silence set the recogniser's options.
"""

import argparse
import statistics
import subprocess
import tempfile
import time

import numpy as np
import torch

from engine.audio import load_audio
from engine.device import resolve_device
from engine.model import Wav2Vec2
from engine.modelfolder import LoadedModel, ModelConfig
from engine.presets import preset
from engine.recognizer import Recognizer
from engine.store import load_model
from engine.stream import StreamingRecognizer
from engine.text import TextRules, Vocabulary

BLOCK = 1600
SENTENCES = ["the early bird catches the worm", "a picture is worth a thousand words",
             "where there is smoke there is fire", "actions speak louder than words",
             "all that glitters is not gold", "birds of a feather flock together"]


class RerunWindow(StreamingRecognizer):
    """The naive design: the feature encoder runs again over the whole window at every update."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.raw = np.zeros(0, dtype=np.float32)  # the audio of features[0:], from first_frame on

    def _encode_new_audio(self) -> None:
        consumed = (len(self.samples) - self.field) // self.stride + 1
        if consumed <= 0:
            return
        self.raw = np.concatenate([self.raw, self.samples[:consumed * self.stride]])
        super()._encode_new_audio()
        frames = len(self.features)
        self.raw = self.raw[len(self.raw) - frames * self.stride:]
        window = np.concatenate([self.raw, self.samples[:self.field - self.stride]])
        with torch.inference_mode():
            if self.recognizer.config.normalize_input:
                window = (window - window.mean()) / np.sqrt(window.var() + 1e-7)
            waveform = torch.from_numpy(window.astype(np.float32))[None].to(self.recognizer.device,
                                                                           self.recognizer.dtype)
            self.features = self.model.feature_projection(self.model.feature_encoder(waveform))[0][0][-frames:]


def speech(seconds: float) -> np.ndarray:
    with tempfile.TemporaryDirectory() as folder:
        parts, total, i = [], 0, 0
        while total < seconds * 16000:
            path = f"{folder}/s.wav"
            subprocess.run(["espeak-ng", "-s", "160", "-w", path, SENTENCES[i % len(SENTENCES)]], check=True)
            parts += [load_audio(path), np.zeros(8000, np.float32)]
            total += len(parts[-2]) + 8000
            i += 1
    return np.concatenate(parts)[: int(seconds * 16000)]


def random_model(name: str, device) -> Recognizer:
    torch.manual_seed(0)
    vocab = Vocabulary(tuple(["<pad>", "|"] + list("abcdefghijklmnopqrstuvwxyz'")), blank=0)
    arch = preset(name, feature_norm="layer", quantizer=False, vocab_size=len(vocab))
    config = ModelConfig("ctc", arch, vocab, TextRules(), normalize_input=False, name=f"random {name}")
    return Recognizer(LoadedModel(config, Wav2Vec2(arch)), device)


def measure(streaming: StreamingRecognizer, audio: np.ndarray) -> dict:
    clock, busy, first_partial, final_at, caption_final = 0.0, 0.0, {}, {}, []
    cpu = time.process_time()
    for start in range(0, len(audio) + BLOCK, BLOCK):
        arrives = (start + BLOCK) / 16000
        clock = max(clock, arrives)
        began = time.perf_counter()
        # After the last block, the end of the stream: what is left becomes final.
        events = streaming.feed(audio[start:start + BLOCK]) if start < len(audio) else streaming.flush()
        spent = time.perf_counter() - began
        clock += spent
        busy += spent
        for event in events:
            if event.kind == "final" and event.words:
                caption_final.append(clock - event.words[-1].end)
            for word in event.words:
                key = round(word.start, 2)
                if event.kind == "partial":
                    first_partial.setdefault(key, clock)
                else:
                    final_at[key] = (word.end, clock)
                    first_partial.setdefault(key, clock)
    duration = len(audio) / 16000
    partial = [first_partial[k] - end for k, (end, _) in final_at.items()]
    final = [at - end for end, at in final_at.values()]
    return {"words": len(final_at), "partial": partial, "final": final, "caption": caption_final,
            "rtf": busy / duration,
            "cpu": (time.process_time() - cpu) / duration}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--preset", default="small", help="size of the random model used without --model")
    parser.add_argument("--max-segment", type=float, default=10.0, help="seconds (StreamingRecognizer)")
    parser.add_argument("--context", type=float, default=2.0, help="seconds of left context")
    parser.add_argument("--endpoint-silence", type=float, default=0.4, help="seconds of blanks that end a caption")
    parser.add_argument("--designs", default="incremental,rerun",
                        help="comma-separated: incremental, greedy (incremental without the language model), rerun")
    args = parser.parse_args()
    device = resolve_device(args.device)
    audio = speech(args.seconds)
    common = {"max_segment": args.max_segment, "context": args.context, "endpoint_silence": args.endpoint_silence}
    settings = {"default (hop 0.25 s)": {"hop": 0.25, **common}, "low latency (hop 0.1 s)": {"hop": 0.1, **common}}
    print(f"{args.model or f'random {args.preset} model'}, {device}, {torch.get_num_threads()} threads, "
          f"{args.seconds:g} s of speech, {common}")
    print(f"{'design':>12} {'setting':>24} {'words':>6} {'partial p50/p95 s':>18} {'final p50/p95 s':>16} "
          f"{'last word p50/p95 s':>20} {'RTF':>5} {'CPU':>6}")
    designs = {"incremental": (StreamingRecognizer, True), "greedy": (StreamingRecognizer, False),
               "rerun": (RerunWindow, True)}
    for design in args.designs.split(","):
        cls, language_model = designs[design]
        for name, options in settings.items():
            recognizer = (Recognizer(load_model(args.model), device, language_model=language_model) if args.model
                          else random_model(args.preset, device))
            result = measure(cls(recognizer, **options), audio)

            def spread(values):
                if not values:
                    return "-"
                return f"{statistics.median(values):.2f}/{np.percentile(values, 95):.2f}"

            print(f"{design:>12} {name:>24} {result['words']:>6} {spread(result['partial']):>18} "
                  f"{spread(result['final']):>16} {spread(result['caption']):>20} {result['rtf']:5.2f} "
                  f"{100 * result['cpu']:5.0f}%")


if __name__ == "__main__":
    main()
