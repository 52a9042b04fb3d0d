"""Child processes that die with their parent: the render script, the trainer started from Blender, ffmpeg.

A child started with `die_with_parent()` as its preexec_fn gets a parent-death signal (Linux's
PR_SET_PDEATHSIG): when the process that started it ends, even by SIGKILL, the kernel kills it
too, so no orphan goes on writing frames or films that a rerun is about to write. Where the
platform has no such signal, the render loop's `parent_gone` check between frames does the same
a frame later (the launcher names itself in $FLOWREEL_PARENT_PID).

Linux sends the signal when the *thread* that started the child ends, not only the process: start
such children from a thread that lives as long as the job (the main thread: the trainer's commands,
Blender's operators), never from a short-lived worker thread.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Callable

PARENT_ENV = "FLOWREEL_PARENT_PID"  # set by whoever starts the render script and waits for it
_PR_SET_PDEATHSIG = 1


def _prctl():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl
    except (OSError, AttributeError):
        return None


def die_with_parent(sig: int = signal.SIGKILL) -> Callable[[], None] | None:
    """A Popen preexec_fn that makes the child get `sig` when this process ends (None off Linux).

    The child also checks that its parent did not end between the fork and the prctl call."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return preexec


def job_preexec() -> Callable[[], None] | None:
    """A Popen preexec_fn for a child that is stopped by SIGINT (Blender's Cancel, `trainer movie`'s Ctrl-C):
    it dies with this process (die_with_parent), and its SIGINT is back to the default. A process started with
    SIGINT ignored, as a non-interactive shell starts its background jobs, passes that on to its children, and a
    Python child that inherits it never turns SIGINT into KeyboardInterrupt: the Cancel would be lost."""
    if sys.platform == "win32":
        return None
    die = die_with_parent()

    def preexec() -> None:
        with contextlib.suppress(ValueError):  # signal.signal outside the main thread: leave it as it is
            signal.signal(signal.SIGINT, signal.SIG_DFL)
        if die is not None:
            die()

    return preexec


def child_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a child that should stop when this process ends: names this process."""
    return dict(os.environ if env is None else env, **{PARENT_ENV: str(os.getpid())})


def parent_gone() -> bool:
    """True when the process that started us (and named itself in $FLOWREEL_PARENT_PID) has ended."""
    want = os.environ.get(PARENT_ENV, "")
    return want.isdigit() and os.getppid() != int(want)
