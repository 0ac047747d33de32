"""`vivavoce train finetune`: CTC fine-tuning on recordings with transcripts.

Starts from any model folder (pretrained, or already fine-tuned to adapt it to
a voice), builds a character vocabulary from the transcripts (or keeps the
model's own), freezes the feature encoder (unless --train-feature-encoder),
trains only the CTC head for the first updates, then the rest with a tri-stage
learning rate and time and channel masking. Validation CER and WER after each
epoch; the best model is kept in the output folder as soon as it is found.
"""

import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from engine.decode import best_path, collapse, decode_words
from engine.errors import VivavoceError
from engine.model import Wav2Vec2, deepened, with_heads
from engine.modelfolder import ModelConfig, save_model_folder
from engine.store import load_model
from engine.text import TextRules, Vocabulary

from .config import FinetuneConfig
from .data import AudioDataset, Utterance, collate, drop_long, scan, split
from .metrics import character_error_rate, phoneme_error_rates, word_error_rate
from .objective import span_mask
from .runner import Distributed, Trainer
from .schedule import tri_stage

MIN_UTTERANCES = 4
NEW_HEAD_FREEZE_STEPS = 1000  # see FinetuneConfig.freeze_transformer_steps
BLANK, DELIMITER = "<pad>", "|"


def build_vocabulary(texts: list[str], phonemes: bool = False) -> Vocabulary:
    """Blank, word delimiter, then every character (or phoneme) of the (normalised) transcripts."""
    symbols = sorted({s for text in texts for s in (text.split() if phonemes else text)} - {" ", DELIMITER})
    return Vocabulary(tuple([BLANK, DELIMITER] + symbols), blank=0, delimiter=DELIMITER, phonemes=phonemes)


def encode(text: str, vocabulary: Vocabulary) -> list[int] | None:
    """Token ids of a normalised transcript, or None if it holds a token the vocabulary lacks."""
    return vocabulary.encode(text)


# Phoneme transcripts are written as they are: no case folding, and "|" and the IPA marks kept.
PHONEME_TEXT = TextRules("keep", strip_punctuation=False)


class CTCTask(nn.Module):
    """The CTC loss of a batch as one forward (so DDP sees it)."""

    def __init__(self, model: Wav2Vec2, targets: dict[int, list[int]], config: FinetuneConfig, blank: int):
        super().__init__()
        self.model = model
        self.targets = targets
        self.config = config
        self.blank = blank

    def forward(self, waveforms: torch.Tensor, lengths: torch.Tensor, indices: list[int], step: int):
        c, model = self.config, self.model
        frames = model.feature_encoder.output_lengths(lengths)
        total = int(model.feature_encoder.output_lengths(torch.tensor(waveforms.shape[1])))
        batch = waveforms.shape[0]
        mask = span_mask((batch, total), c.mask_prob, c.mask_span, 0, frames).to(waveforms.device)
        channels = span_mask((batch, model.arch.hidden_size), c.channel_mask_prob, c.channel_mask_span, 0)
        frozen = step < c.freeze_transformer_steps
        with torch.set_grad_enabled(not frozen and torch.is_grad_enabled()):
            context = model(waveforms, lengths, mask, channels.to(waveforms.device)).context
        logits = model.ctc_head(model.ctc_dropout(context))
        targets = [torch.tensor(self.targets[i]) for i in indices]
        loss = F.ctc_loss(logits.float().log_softmax(-1).transpose(0, 1), torch.cat(targets).to(logits.device),
                          frames, torch.tensor([len(t) for t in targets]), blank=self.blank,
                          reduction="sum", zero_infinity=True)
        return loss, float(batch), {"loss": loss.item() / batch, "frozen": float(frozen)}


def prepare_data(config: FinetuneConfig, corpus, text: TextRules, warnings: list[str]):
    for path, reason in corpus.unreadable:
        warnings.append(f"skipped {path}: {reason}")
    labelled, too_long = drop_long(corpus.labelled, config.max_utterance_seconds)
    if too_long:
        warnings.append(f"skipped {too_long} recordings longer than {config.max_utterance_seconds:g} s")
    utterances = [Utterance(u.path, u.duration, text.apply(u.text)) for u in labelled]
    empty = [u for u in utterances if not u.text]
    if empty:
        warnings.append(f"skipped {len(empty)} recordings whose transcript is empty after normalisation")
    utterances = [u for u in utterances if u.text]
    if len(utterances) < MIN_UTTERANCES:
        raise VivavoceError(f"{config.data}: only {len(utterances)} usable recordings with transcripts "
                            f"({len(corpus.unreadable)} unreadable, {len(corpus.without_text)} without "
                            f"transcript); fine-tuning needs at least {MIN_UTTERANCES}")
    return utterances


def grown(model: Wav2Vec2, config: FinetuneConfig) -> Wav2Vec2:
    """The model to fine-tune: the one loaded, with --add-layers more Transformer layers."""
    if config.add_layers < 0:
        raise VivavoceError(f"--add-layers {config.add_layers}: give a number of layers, 0 or more")
    if not config.add_layers:
        return model
    if not model.arch.pre_norm:
        raise VivavoceError(f"--add-layers: {config.init} normalises after each layer (post-norm), so new "
                            "layers cannot start as the identity; only pre-norm models can be deepened")
    return deepened(model, config.add_layers)


def learning_rate_for(width: int) -> float:
    """The peak fine-tuning learning rate for a Transformer ``width`` wide.

    Narrow models want larger steps. Measured here: adapting the bundled model (width 256) to a
    voice for 20 minutes (benchmarks/voice_adaptation.py) took that voice's CER from 50% to 18.5%
    at 5e-4 and only to 35.5% at 5e-5. fairseq fine-tunes BASE (768) at 5e-5 and LARGE (1024) at
    3e-5. The rate falls with the square of the width through those points: 5e-4 at 256, 5.6e-5
    at 768, 3.1e-5 at 1024, never above 5e-4.
    """
    return min(5e-4, 5e-4 * (256 / width) ** 2)


VOCABULARY_CHOICES = ("auto", "keep", "new")
NEW_VOCABULARY_SHARE = 0.05  # "auto": more transcripts than this that the model cannot write


def keeps_vocabulary(loaded) -> bool:
    """A model that already writes text can keep its vocabulary and text rules (adapting it to a voice)."""
    return loaded.config.kind in ("ctc", "phoneme")


def choose_vocabulary(config: FinetuneConfig, loaded, corpus, warnings: list[str]) -> bool:
    """Whether to keep the vocabulary of ``loaded`` (see FinetuneConfig.vocabulary) for ``corpus``."""
    if config.vocabulary not in VOCABULARY_CHOICES:
        raise VivavoceError(f"--vocabulary {config.vocabulary}: choose one of {', '.join(VOCABULARY_CHOICES)}")
    if not keeps_vocabulary(loaded) or config.vocabulary == "new":
        return False
    if config.phonemes != (loaded.config.kind == "phoneme"):
        if config.vocabulary == "keep":
            raise VivavoceError(f"--vocabulary keep: {config.init} writes "
                                f"{'phonemes' if loaded.config.kind == 'phoneme' else 'characters'} and the "
                                f"transcripts are {'phonemes' if config.phonemes else 'words'}")
        return False
    if config.vocabulary == "keep":
        return True
    vocabulary, rules = loaded.config.vocabulary, loaded.config.text
    texts = [rules.apply(u.text) for u in corpus.labelled]
    unwritable = [t for t in texts if t and encode(t, vocabulary) is None]
    if len(unwritable) <= NEW_VOCABULARY_SHARE * max(1, len(texts)):
        return True
    missing = sorted({c for t in unwritable for c in t} - set(vocabulary.tokens) - {" "})
    warnings.append(f"{len(unwritable)} of {len(texts)} transcripts use characters {config.init} cannot write "
                    f"({' '.join(missing[:12])}): it gets a new vocabulary from the transcripts and a new output "
                    "layer (--vocabulary keep would skip those transcripts instead)")
    return False


def finetune(config: FinetuneConfig, resume: bool, command: str) -> tuple[str, Path]:
    """Run fine-tuning; returns (outcome, model folder)."""
    dist = Distributed.from_env(config.device)
    warnings: list[str] = []
    torch.manual_seed(config.seed)
    loaded = load_model(config.init)
    config.phonemes = config.phonemes or loaded.config.kind == "phoneme"  # a phoneme model learns phonemes
    corpus = scan(config.data)
    kept = choose_vocabulary(config, loaded, corpus, warnings)
    if keeps_vocabulary(loaded):
        config.vocabulary = "keep" if kept else "new"  # as resolved, for --resume
    if config.freeze_transformer_steps < 0:
        config.freeze_transformer_steps = 0 if kept else NEW_HEAD_FREEZE_STEPS
    if config.learning_rate < 0:
        config.learning_rate = learning_rate_for(loaded.model.arch.hidden_size)
    text = loaded.config.text if kept else PHONEME_TEXT if config.phonemes else TextRules("lower")
    utterances = prepare_data(config, corpus, text, warnings)
    vocabulary = (loaded.config.vocabulary if kept
                  else build_vocabulary([u.text for u in utterances], phonemes=config.phonemes))
    model = with_heads(grown(loaded.model, config), quantizer=False, vocab_size=len(vocabulary),
                       dropout=config.dropout if config.dropout >= 0 else None, keep_head=kept)
    encodable = [u for u in utterances if encode(u.text, vocabulary) is not None]
    if len(encodable) < MIN_UTTERANCES:
        raise VivavoceError(f"{config.data}: only {len(encodable)} of {len(utterances)} transcripts can be written "
                            f"with the characters of {config.init}; fine-tuning needs at least {MIN_UTTERANCES} "
                            "(--vocabulary new gives the model the transcripts' own characters)")
    if len(encodable) < len(utterances):
        warnings.append(f"skipped {len(utterances) - len(encodable)} transcripts with characters outside "
                        "the model's vocabulary")
    train, valid = split(encodable, config.valid_fraction, config.seed)
    train_targets = {i: encode(u.text, vocabulary) for i, u in enumerate(train)}
    for parameter in model.feature_encoder.parameters():
        parameter.requires_grad_(config.train_feature_encoder)
    out = Path(config.out)
    dataset = AudioDataset(train, normalize=loaded.config.normalize_input)
    trainer = Trainer(config, CTCTask(model, train_targets, config, vocabulary.blank), dataset,
                      [u.duration for u in train], out, command,
                      lambda step: tri_stage(step, config.max_steps, config.learning_rate,
                                             config.stage_fractions, config.final_lr_scale), dist)
    if resume:
        trainer.resume()
    trainer.write_config()
    # The language model of a recogniser whose vocabulary is kept scores the same characters:
    # it goes with the fine-tuned model (a recogniser adapted to a voice keeps its beam search).
    language_model = loaded.config.language_model if kept and loaded.path is not None else None
    model_config = ModelConfig("phoneme" if vocabulary.phonemes else "ctc", model.arch, vocabulary, text, language=config.language, name=out.name,
                               normalize_input=loaded.config.normalize_input, language_model=language_model,
                               source=f"vivavoce train finetune on {Path(config.data).resolve()}")
    started = time.monotonic()
    hours = sum(u.duration for u in train) / 3600

    baseline: dict = {}  # the starting model's validation scores, when it was judged (evaluate_first)

    def save(step: int, scores: dict | None) -> None:
        card = model_card(config, command, len(train), len(valid), hours, step, scores, kept, trainer,
                          time.monotonic() - started, language_model is not None, baseline)
        save_model_folder(model, model_config, out, card,
                          language_model=loaded.path / language_model.file if language_model else None)

    def evaluate(step: int) -> float | None:
        if not valid or not dist.main:
            return None
        scores = validation_scores(model, valid, vocabulary, text, trainer.device,
                                   loaded.config.normalize_input)
        trainer.events.emit("evaluation", step=step, **scores)
        if step == 0:
            baseline.update(scores)
        if scores["cer"] < trainer.progress.best:
            save(step, scores)
        return scores["cer"]

    # A recogniser that keeps its output layer can already transcribe: judged before its first
    # step, it is the first best, so fine-tuning never installs a model worse than its start.
    outcome = trainer.run(evaluate, config.eval_every, warnings, evaluate_first=kept)
    if dist.main and outcome != "interrupted":
        if not valid or not out.joinpath("model.safetensors").exists():
            save(trainer.progress.step, None)
        trainer.events.emit("done", step=trainer.progress.step, model=str(out), outcome=outcome,
                            best_cer=None if trainer.progress.best == float("inf") else trainer.progress.best)
    trainer.events.close()
    return outcome, out


def transcribe_batch(model: Wav2Vec2, waveforms: torch.Tensor, lengths: torch.Tensor, vocabulary: Vocabulary,
                     text: TextRules) -> list[str]:
    """Greedy transcripts, written as the training transcripts are (phonemes between spaces, for a phoneme model)."""
    log_probs = model.ctc_logits(waveforms, lengths).float().log_softmax(-1).cpu().numpy()
    frames = model.feature_encoder.output_lengths(lengths).tolist()
    if vocabulary.phonemes:
        return [" ".join(vocabulary.tokens[i] for i in collapse(best_path(lp[:n])[0], vocabulary))
                for lp, n in zip(log_probs, frames)]
    seconds = model.arch.frame_stride / 16000
    return [" ".join(w.text for w in decode_words(*best_path(lp[:n]), vocabulary, text, seconds))
            for lp, n in zip(log_probs, frames)]


def validation_scores(model: Wav2Vec2, valid: list[Utterance], vocabulary: Vocabulary, text: TextRules,
                      device: torch.device, normalize: bool) -> dict:
    dataset = AudioDataset(valid, normalize=normalize)
    hypotheses = []
    for start in range(0, len(valid), 8):
        waveforms, lengths, _ = collate([dataset[i] for i in range(start, min(start + 8, len(valid)))])
        hypotheses += transcribe_batch(model, waveforms.to(device), lengths.to(device), vocabulary, text)
    references = [u.text for u in valid]
    if vocabulary.phonemes:  # "cer" is the phoneme error rate; "wer" the rate of words not spoken exactly
        per, wer = phoneme_error_rates(references, hypotheses)
        return {"cer": per, "wer": wer}
    return {"cer": character_error_rate(references, hypotheses), "wer": word_error_rate(references, hypotheses)}


def model_card(config: FinetuneConfig, command: str, train: int, valid: int, hours: float, step: int,
               scores: dict | None, kept: bool, trainer: Trainer, seconds: float, language_model: bool,
               baseline: dict | None = None) -> str:
    device = trainer.device
    hardware = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "CPU"
    cer, wer = ("phoneme error rate", "words not spoken exactly") if config.phonemes else ("CER", "WER")
    measured = (f"- validation ({valid} recordings held out by seed {config.seed}): "
                f"{cer} {100 * scores['cer']:.1f}%, {wer} {100 * scores['wer']:.1f}% at step {step}"
                if scores else "- validation: none (too few recordings to hold some out)")
    if baseline:
        measured += (f"\n- the same validation of `{config.init}` before fine-tuning: {cer} {100 * baseline['cer']:.1f}%, "
                     f"{wer} {100 * baseline['wer']:.1f}%" + (" (fine-tuning did not do better: these are its weights)"
                                                           if step == 0 else ""))
    return "\n".join([
        f"# {Path(config.out).name}", "",
        f"A wav2vec 2.0 CTC model{' of phonemes' if config.phonemes else ''} fine-tuned by `vivavoce train finetune` from `{config.init}`"
        f"{' (its vocabulary kept)' if kept else ''}"
        f"{', with its language model for beam search' if language_model else ''}.", "",
        f"- data: `{Path(config.data).resolve()}`, {train} recordings for training, {hours:.2f} hours",
        f"- language: {config.language}",
        measured,
        f"- steps: {step} of {config.max_steps}",
        f"- hardware: {hardware} x {trainer.dist.world}",
        f"- wall time (this session of the run): {seconds / 60:.1f} min",
        f"- command: `{command}`",
        "- full configuration: `training/config.toml` beside this card", "",
    ])
