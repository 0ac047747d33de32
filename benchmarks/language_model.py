"""Greedy decoding against beam search with the model's language model, side by side.

Both decode the same per-frame log-probabilities of the same recordings (the acoustic model runs
once per recording), so the table shows what the language model adds to accuracy and what the
search costs in time, as a share of the time the acoustic model took over the same audio. Beam
sizes: the model's own (files) and the narrower one live captions use.

    .venv/bin/python benchmarks/language_model.py --model default --data WORK/test-clean benchmarks/real_speech
"""

import argparse
import time

import torch

from engine.audio import AudioFile
from engine.decode import best_path, decode_words
from engine.recognizer import Recognizer
from engine.store import load_model
from engine.stream import STREAMING_BEAM
from training.data import scan
from training.metrics import character_error_rate, word_error_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--data", nargs="+", required=True, help="folders of recordings with transcripts")
    args = parser.parse_args()
    torch.set_num_threads(2)
    loaded = load_model(args.model)
    recognizer = Recognizer(loaded, torch.device("cpu"))
    if recognizer.decoder is None:
        parser.error(f"{args.model} has no language model (vivavoce train lm)")
    config = loaded.config
    decoders = {"greedy": best_path,
                f"beam {recognizer.decoder.beam} + LM": recognizer.decoder.best_path,
                f"beam {STREAMING_BEAM} + LM (live)": recognizer.decoder.variant(beam=STREAMING_BEAM).best_path}
    print(f"model {config.name}, language model weight {config.language_model.weight:g}")
    print(f"{'data':<28} {'decoder':<22} {'CER':>6} {'WER':>6} {'decoding s per audio s':>23} "
          f"{'vs the model':>13}")
    for data in args.data:
        labelled = [u for u in scan(data).labelled if config.text.apply(u.text)]
        references = [config.text.apply(u.text) for u in labelled]
        scores, model_seconds = [], 0.0
        for utterance in labelled:
            with AudioFile(utterance.path) as audio:
                samples = audio.read(0, audio.num_samples)
            started = time.perf_counter()
            scores.append(recognizer.log_probs(samples))
            model_seconds += time.perf_counter() - started
        seconds = sum(len(s) for s in scores) * recognizer.frame_seconds
        for name, decode in decoders.items():
            started = time.perf_counter()
            paths = [decode(s) for s in scores]
            cost = (time.perf_counter() - started) / seconds
            hypotheses = [" ".join(w.text for w in decode_words(ids, probs, config.vocabulary, config.text,
                                                                recognizer.frame_seconds)) for ids, probs in paths]
            print(f"{data[-28:]:<28} {name:<22} {100 * character_error_rate(references, hypotheses):5.1f}% "
                  f"{100 * word_error_rate(references, hypotheses):5.1f}% {cost:23.4f} "
                  f"{100 * cost * seconds / model_seconds:12.0f}%")


if __name__ == "__main__":
    main()
