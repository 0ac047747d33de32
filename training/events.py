"""What a training run tells the world: JSON-lines events for the GUI, a progress bar for the terminal.

Events, one JSON object per line, each with "event" and "time" (Unix seconds):
  start       {"command", "config", "step", "max_steps"}
  step        {"step", metric: value, ...}
  evaluation  {"step", metric: value, ...}
  checkpoint  {"step", "path"}
  warning     {"message"}
  done        {"step", "model", ...}
  error       {"message"}
Only the first process of a distributed run reports.
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
            self.emit("step", step=step, **{k: round(float(v), 6) for k, v in metrics.items()})

    def message(self, kind: str, text: str) -> None:
        """A warning or error line for the terminal, and its event."""
        if self.enabled:
            self.bar.write(f"vivavoce: {kind}: {text}", file=sys.stderr)
        self.emit(kind, message=text)

    def close(self) -> None:
        self.bar.close()
        if self.file is not None:
            self.file.close()
