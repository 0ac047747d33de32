"""What a training run tells the world: JSON-lines events for the GUI, a progress bar for the terminal.

Events, one JSON object per line, each with "event" and "time" (Unix seconds):
  start       {"command", "config", "step", "max_steps"}
  step        {"step", "total", metric: value, ...}  (total: the steps the run now expects to take)
  evaluation  {"step", metric: value, ...}
  checkpoint  {"step", "path"}
  warning     {"message"}
  done        {"step", "model", ...}
  error       {"message"}
Only the first process of a distributed run reports. A resumed run appends to the same file.
`EventReader` and `RunRecord` read them back, for the GUI that follows a run in another process.
"""

import json
import sys
import time

from tqdm import tqdm


class Events:
    def __init__(self, path: str, max_steps: int, first_step: int, enabled: bool = True):
        self.enabled = enabled
        self.file = open(path, "a", encoding="utf-8") if (path and enabled) else None
        self.bar = tqdm(total=max_steps, initial=first_step, unit="step", dynamic_ncols=True,
                        file=sys.stderr, disable=None if enabled else True)

    def emit(self, kind: str, **fields) -> None:
        if self.file is not None:
            self.file.write(json.dumps({"event": kind, "time": round(time.time(), 3), **fields}) + "\n")
            self.file.flush()

    def step(self, step: int, metrics: dict, log: bool, total: int | None = None) -> None:
        """Advance the bar to ``step`` (of ``total`` steps when that has become known better than
        at the start); when ``log``, show ``metrics`` and write a step event."""
        if total is not None and total != self.bar.total:
            self.bar.total = total
            self.bar.refresh()
        self.bar.update(step - self.bar.n)
        if log:
            self.bar.set_postfix({k: f"{v:.3g}" for k, v in metrics.items()}, refresh=False)
            self.emit("step", step=step, total=self.bar.total,
                      **{k: round(float(v), 6) for k, v in metrics.items()})

    def message(self, kind: str, text: str) -> None:
        """A warning or error line for the terminal, and its event."""
        if self.enabled:
            self.bar.write(f"vivavoce: {kind}: {text}", file=sys.stderr)
        self.emit(kind, message=text)

    def close(self) -> None:
        self.bar.close()
        if self.file is not None:
            self.file.close()


class EventReader:
    """The events a run appends to ``path``, read as they come, one complete line at a time."""

    def __init__(self, path: str):
        self.path = path
        self.offset = 0
        self.rest = b""  # a line being written, kept until its newline arrives

    def read(self) -> list[dict]:
        """The events written since the last call (none while the file does not exist yet)."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return []
        self.offset += len(data)
        *lines, self.rest = (self.rest + data).split(b"\n")
        events = []
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:  # not ours; the file is only ever appended whole lines
                continue
            if isinstance(event, dict) and "event" in event:
                events.append(event)
        return events


class RunRecord:
    """What a run's events say so far: where it stands, its loss and validation curves, how long is left."""

    def __init__(self):
        self.stage = ""  # "pretrain" or "finetune"
        self.step = 0
        self.total = 0
        self.losses: list[tuple[int, float]] = []  # (step, training loss)
        self.evaluations: list[tuple[int, float]] = []  # (step, validation CER)
        self.warnings: list[str] = []
        self.error = ""
        self.done: dict | None = None
        self.checkpoint_step = 0
        # (time, step) of this process's first and latest step events: the pace of the run
        self._first: tuple[float, int] | None = None
        self._latest: tuple[float, int] | None = None

    def add(self, event: dict) -> None:
        kind = event["event"]
        if kind == "start":
            words = event.get("command", "").split()  # vivavoce train STAGE ...
            self.stage = words[2] if len(words) > 2 else self.stage
            self.step, self.total = event["step"], event["max_steps"]
            self._first = self._latest = None
            # A resumed run goes on from its checkpoint: what came after it is done again.
            self.losses = [point for point in self.losses if point[0] <= self.step]
            self.evaluations = [point for point in self.evaluations if point[0] <= self.step]
        elif kind == "step":
            self.step, self.total = event["step"], event.get("total", self.total)
            if "loss" in event:
                self.losses.append((event["step"], event["loss"]))
            self._latest = (event["time"], event["step"])
            self._first = self._first or self._latest
        elif kind == "evaluation" and "cer" in event:
            self.evaluations.append((event["step"], event["cer"]))
        elif kind == "checkpoint":
            self.checkpoint_step = event["step"]
        elif kind == "warning":
            self.warnings.append(event["message"])
        elif kind == "error":
            self.error = event["message"]
        elif kind == "done":
            self.done = event
            self.step = event["step"]

    def seconds_left(self) -> float | None:
        """The time the remaining steps will take at the pace since this process started;
        None until two steps have been seen."""
        if self._first is None or self._latest[1] <= self._first[1]:
            return None
        (first_time, first_step), (last_time, last_step) = self._first, self._latest
        return max(self.total - last_step, 0) * (last_time - first_time) / (last_step - first_step)
