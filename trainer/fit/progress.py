"""Progress bars (tqdm with loss/ETA) that stay readable when stderr is a log file, not a terminal."""

from __future__ import annotations

import sys
from typing import Any


def progress_bar(**kwargs: Any):
    """A tqdm bar on stderr: smooth on a terminal; in a log (CI, a pipe) one line every 10 s, not
    hundreds of carriage-return updates."""
    from tqdm import tqdm

    tty = sys.stderr.isatty()
    kwargs.setdefault("mininterval", 0.1 if tty else 10.0)
    kwargs.setdefault("dynamic_ncols", tty)
    return tqdm(file=sys.stderr, **kwargs)


class JsonProgress:
    """`--progress json`: one JSON object per line on stdout, flushed, for programs that drive the
    trainer (the Blender add-on). Events: "start", "progress" (step, steps, loss, elapsed, eta in
    seconds), "stage" (a new stage begins: eval, export) and one final "done" (status ok or interrupted,
    run_dir, export). Step lines are throttled: a GUI needs a few a second, not thousands."""

    def __init__(self, interval: float = 0.2, stream=None) -> None:
        import time

        self._clock = time.monotonic
        self.interval = interval
        self.stream = stream
        self._t0 = self._clock()
        self._last = -float("inf")
        self._first_step: int | None = None

    def emit(self, event: str, **fields: Any) -> None:
        from flowreel.addon.core.contract.progress import event_line

        line = event_line(event, **fields)  # the schema both sides read
        print(line, file=self.stream or sys.stdout, flush=True)

    def step(self, stage: str, step: int, steps: int, loss: float | None = None, *,
             overall: tuple[int, int] | None = None, **fields: Any) -> None:
        """A training step done; emitted at most every `interval` seconds, and always for the last one.
        `overall` (step, steps) is what the rate and ETA count when this step is part of a longer job (a
        sequence's flows one after another); `fields` go into the line as they are."""
        now = self._clock()
        at, total = overall if overall is not None else (step, steps)
        if self._first_step is None:
            self._first_step = at - 1  # the rate counts only this process's steps (resume)
        if step < steps and now - self._last < self.interval:
            return
        self._last = now
        elapsed = now - self._t0
        done = at - self._first_step
        eta = elapsed / done * (total - at) if done > 0 else None
        finite = loss is not None and loss == loss and abs(loss) != float("inf")
        self.emit("progress", stage=stage, step=step, steps=steps, loss=round(loss, 6) if finite else None,
                  elapsed=round(elapsed, 3), eta=None if eta is None else round(eta, 3), **fields)
