"""Ctrl-C during a fit: stop at a step boundary with a consistent state, then report it.

Torch-free, so the `trainer` command can catch `FitInterrupted` without importing torch.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path


class FitInterrupted(Exception):
    """Training was interrupted (Ctrl-C) after a resumable checkpoint was saved at ``step``."""

    def __init__(self, step: int, run_dir: Path | None = None) -> None:
        self.step = step
        self.run_dir = run_dir
        where = f" in {run_dir}" if run_dir else ""
        super().__init__(f"interrupted at step {step}; checkpoint saved{where} (resume to continue)")


class SigintFlag:
    """While active (main thread only), the first Ctrl-C sets a flag so training stops at a step boundary
    with a consistent state; a second Ctrl-C interrupts immediately."""

    def __init__(self) -> None:
        self.hit = False
        self._old = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._old = signal.getsignal(signal.SIGINT)

            def handler(signum, frame):
                if self.hit:
                    raise KeyboardInterrupt
                self.hit = True

            signal.signal(signal.SIGINT, handler)
        return self

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        return False
