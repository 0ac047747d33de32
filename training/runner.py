"""The training loop shared by pretraining and fine-tuning.

A stage (pretrain.py, finetune.py) supplies the model, the data and a loss;
the `Trainer` owns the rest: batches bucketed by length and sharded across
processes, gradient accumulation, normalisation by the number of scored units
across all processes, clipping, the learning-rate schedule, bf16 autocast on
GPUs, checkpoints every few minutes and on Ctrl-C, exact resumption, and the
events and progress bar. Every random draw of a step is seeded from
(seed, step), so a resumed run continues exactly as an uninterrupted one.

Distributed runs are started by `torchrun`, which sets RANK, LOCAL_RANK and
WORLD_SIZE; only rank 0 writes.
"""

import contextlib
import dataclasses
import math
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as torch_dist
from torch.nn.parallel import DistributedDataParallel

from engine.device import resolve_device
from engine.errors import VivavoceError

from .checkpoint import load_checkpoint, save_checkpoint
from .config import Common, stop_file, to_toml, training_dir
from .data import AudioDataset, collate, length_batches
from .events import Events
from .schedule import budget_step, budget_steps


@dataclass
class Distributed:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @classmethod
    def from_env(cls, device_choice: str) -> "Distributed":
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world == 1:
            return cls()
        rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
        use_cuda = resolve_device(device_choice).type == "cuda"
        if use_cuda:
            torch.cuda.set_device(local_rank)
        if not torch_dist.is_initialized():
            torch_dist.init_process_group("nccl" if use_cuda else "gloo")
        return cls(rank, world, local_rank)

    @property
    def main(self) -> bool:
        return self.rank == 0

    def device(self, choice: str) -> torch.device:
        device = resolve_device(choice)
        return torch.device("cuda", self.local_rank) if device.type == "cuda" and self.world > 1 else device

    def total(self, value: float, device: torch.device) -> float:
        """The sum of ``value`` over all processes."""
        if self.world == 1:
            return value
        tensor = torch.tensor([value], dtype=torch.float64, device=device)
        torch_dist.all_reduce(tensor)
        return float(tensor.item())


@dataclass
class Progress:
    """Where a run stands; saved in every checkpoint."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0  # this process's batches already used in the epoch
    best: float = math.inf
    evaluations_without_improvement: int = 0
    seconds: float = 0.0  # training time spent (see Common.max_minutes)


class Interrupted(Exception):
    pass


def step_seed(seed: int, step: int, batch: int) -> int:
    return (seed * 1_000_003 + step * 1009 + batch) % (2**63)


class Trainer:
    """Trains ``task``: a module holding the model as ``task.model`` whose
    ``forward(waveforms (B, S), lengths (B,), utterance indices, step)`` returns
    (the loss summed over the batch's scored units, the number of units, metrics
    to report). The whole loss is the task's forward so that
    DistributedDataParallel sees it.
    """

    def __init__(self, config: Common, task: torch.nn.Module, dataset: AudioDataset,
                 durations: list[float], out: Path, command: str,
                 learning_rate: Callable[[int], float], dist: Distributed):
        self.config = config
        self.dist = dist
        self.device = dist.device(config.device)
        self.task = task.to(self.device)
        self.model = task.model
        self.dataset = dataset
        self.durations = durations
        self.out = Path(out)
        self.command = command
        self.learning_rate = learning_rate
        self.progress = Progress()
        self.optimizer = torch.optim.AdamW([p for p in task.parameters() if p.requires_grad],
                                           lr=learning_rate(0), betas=(0.9, 0.98), eps=1e-6,
                                           weight_decay=config.weight_decay)
        self.wrapped = (DistributedDataParallel(task, device_ids=[self.device.index] if self.device.type == "cuda"
                                                else None, find_unused_parameters=True)
                        if dist.world > 1 else task)
        self.autocast = (torch.autocast("cuda", dtype=torch.bfloat16)
                         if self.device.type == "cuda" and torch.cuda.is_bf16_supported() else None)
        self.events: Events | None = None
        self._interrupted = False
        self._watch: Callable[[int, dict], str | None] | None = None

    # -- checkpoints ---------------------------------------------------------

    def resume(self) -> None:
        state = load_checkpoint(training_dir(self.out))
        self.task.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.progress = Progress(**state["progress"])

    def save_checkpoint(self) -> Path | None:
        if not self.dist.main:
            return None
        state = {"model": self.task.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "progress": dataclasses.asdict(self.progress),
                 "config": {k: list(v) if isinstance(v, tuple) else v
                            for k, v in dataclasses.asdict(self.config).items()}}
        path = save_checkpoint(training_dir(self.out), state)
        self.events.emit("checkpoint", step=self.progress.step, path=str(path))
        return path

    def write_config(self) -> None:
        if self.dist.main:
            folder = training_dir(self.out)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "config.toml").write_text(to_toml(self.config), encoding="utf-8")

    # -- the loop ------------------------------------------------------------

    def _batches(self, epoch: int) -> list[list[int]]:
        batches = length_batches(self.durations, self.config.batch_seconds, self.config.seed, epoch)
        usable = len(batches) // self.dist.world * self.dist.world
        return batches[self.dist.rank:usable:self.dist.world]

    def finished(self) -> bool:
        """max_steps taken, or the --max-minutes budget spent."""
        config = self.config
        return (self.progress.step >= config.max_steps
                or 0 < config.max_minutes * 60 <= self.progress.seconds)

    def schedule_step(self) -> int:
        """The step the learning-rate schedule stands at (see `budget_step`)."""
        config = self.config
        return budget_step(self.progress.step, config.max_steps, self.progress.seconds, config.max_minutes)

    def expected_steps(self) -> int:
        """The steps the run will take (see `budget_steps`), for the progress bar's total and time left."""
        config, progress = self.config, self.progress
        return budget_steps(progress.step, config.max_steps, progress.seconds, config.max_minutes)

    def _on_signal(self, signum, frame) -> None:
        self._interrupted = True

    def _stop_asked(self) -> bool:
        """A signal came, or (one process) the stop file exists: see `stop_file`."""
        if not self._interrupted and self.dist.world == 1 and stop_file(self.out).exists():
            self._interrupted = True
        return self._interrupted

    def run(self, evaluate: Callable[[int], float | None] | None = None,
            evaluate_every: int = 0, warnings: list[str] = (),
            watch: Callable[[int, dict], str | None] | None = None, evaluate_first: bool = False) -> str:
        """Train until max_steps, early stopping, or Ctrl-C; returns "done", "stopped early" or "interrupted".

        ``evaluate(step)`` returns a score to minimise (or None); it runs every
        ``evaluate_every`` steps, or at the end of each epoch when that is 0.
        ``watch(step, metrics)`` sees every step's metrics and returns a warning to show, or None.
        ``evaluate_first``: a run that starts at step 0 evaluates before its first step too, so the
        model it starts from is the first best (a recogniser adapted to a voice: where it started,
        and never a result worse than that).
        """
        config, progress = self.config, self.progress
        self._watch = watch
        self.events = Events(config.events, config.max_steps, progress.step, enabled=self.dist.main)
        self.events.emit("start", command=self.command, step=progress.step, max_steps=config.max_steps,
                         config=dataclasses.asdict(self.config))
        for message in warnings:
            self.events.message("warning", message)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        last_checkpoint = time.monotonic()
        outcome = "done"
        if evaluate_first and evaluate and progress.step == 0:
            self._evaluate(evaluate)
        try:
            while not self.finished() and outcome == "done":
                batches = self._batches(progress.epoch)
                if not batches:
                    raise VivavoceError(f"too few batches of {config.batch_seconds:g} s for "
                                        f"{self.dist.world} processes; lower --batch-seconds")
                self.dataset.set_epoch(progress.epoch)
                loader = torch.utils.data.DataLoader(
                    self.dataset, batch_sampler=batches[progress.batch_in_epoch:], collate_fn=collate,
                    num_workers=config.workers, persistent_workers=False,
                    pin_memory=self.device.type == "cuda")
                group: list = []
                waiting_since = time.perf_counter()
                for batch in loader:
                    progress.batch_in_epoch += 1
                    group.append(batch)
                    if len(group) < config.accumulate:
                        continue
                    self._step(group, data_wait=time.perf_counter() - waiting_since)
                    group = []
                    # and at the last step, so a run's end (its lowest learning rate) is never unjudged
                    evaluated = self.finished() or (evaluate_every and progress.step % evaluate_every == 0)
                    if evaluated and evaluate and self._evaluate(evaluate):
                        outcome = "stopped early"
                    if (self._stop_asked() or self.finished() or outcome != "done"
                            or time.monotonic() - last_checkpoint >= 60 * config.checkpoint_minutes):
                        self.save_checkpoint()
                        last_checkpoint = time.monotonic()
                    if self._interrupted:
                        raise Interrupted
                    if self.finished() or outcome != "done":
                        break
                    waiting_since = time.perf_counter()
                else:
                    progress.epoch += 1
                    progress.batch_in_epoch = 0
                    if not evaluate_every and evaluate and self._evaluate(evaluate):
                        outcome = "stopped early"
                        self.save_checkpoint()
        except Interrupted:
            outcome = "interrupted"
            if self.dist.main:
                stop_file(self.out).unlink(missing_ok=True)  # heeded
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return outcome

    def _step(self, group: list, data_wait: float) -> None:
        """One optimizer step over ``group`` (the accumulated batches); ``data_wait`` is the seconds
        spent waiting for them, reported so that a starved GPU shows."""
        config, progress = self.config, self.progress
        start = time.perf_counter()
        self.task.train()
        units, audio_seconds, summed = 0.0, 0.0, {}
        for micro, (waveforms, lengths, indices) in enumerate(group):
            # Seeded by the batch's place in the global step, so one process accumulating
            # N batches draws exactly what N processes draw (masks, dropout, Gumbel noise).
            torch.manual_seed(step_seed(config.seed, progress.step, micro * self.dist.world + self.dist.rank))
            waveforms, lengths = waveforms.to(self.device), lengths.to(self.device)
            sync = micro == len(group) - 1 or self.dist.world == 1
            context = self.wrapped.no_sync() if not sync else contextlib.nullcontext()
            with context:
                with self.autocast or contextlib.nullcontext():
                    loss, count, metrics = self.wrapped(waveforms, lengths, indices, progress.step)
                loss.backward()
            units += count
            audio_seconds += float(lengths.sum()) / 16000
            for key, value in metrics.items():
                summed[key] = summed.get(key, 0.0) + float(value) / len(group)
        total_units = self.dist.total(units, self.device)
        scale = self.dist.world / max(total_units, 1.0)  # DDP averages; this makes it a sum over units
        parameters = [p for p in self.task.parameters() if p.grad is not None]
        for parameter in parameters:
            parameter.grad.mul_(scale)
        grad_norm = torch.nn.utils.clip_grad_norm_(parameters, config.clip_norm) if parameters else 0.0
        rate = self.learning_rate(self.schedule_step())
        for group_ in self.optimizer.param_groups:
            group_["lr"] = rate
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        progress.step += 1
        elapsed = time.perf_counter() - start
        progress.seconds += elapsed + data_wait
        if self.dist.world > 1 and config.max_minutes > 0:  # every process must stop at the same step
            progress.seconds = self.dist.total(progress.seconds, self.device) / self.dist.world
        summed.update(lr=rate, grad_norm=float(grad_norm),
                      audio_s_per_s=audio_seconds * self.dist.world / max(elapsed + data_wait, 1e-9),
                      data_wait=data_wait / max(elapsed + data_wait, 1e-9))
        log = progress.step % config.log_every == 0 or progress.step == 1 or self.finished()
        self.events.step(progress.step, summed, log, total=self.expected_steps())
        message = self._watch(progress.step, summed) if self._watch else None
        if message:
            self.events.message("warning", message)

    def _evaluate(self, evaluate: Callable[[int], float | None]) -> bool:
        """Run an evaluation; True when early stopping should end the run."""
        self.task.eval()
        with torch.no_grad():
            score = evaluate(self.progress.step)
        self.task.train()
        if score is not None:
            if score < self.progress.best:
                self.progress.best = score
                self.progress.evaluations_without_improvement = 0
            else:
                self.progress.evaluations_without_improvement += 1
        stop = self.progress.evaluations_without_improvement >= getattr(self.config, "patience", math.inf)
        # Only the first process evaluates; every process must stop together.
        return self.dist.total(float(stop), self.device) > 0


