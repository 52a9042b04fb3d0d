"""One owner at a time: an OS file lock on a folder (a run folder while it is fitted or exported, a
frames folder while it is rendered and encoded).

The lock is `flock` on ``<folder>/.flowreel.lock``: the kernel drops it when its process ends, however
it ends (a SIGKILL included), so there is no stale stamp to clean up and nothing to guess from
timestamps. A second process that wants the folder says, in one line, whom it waits for, and waits;
once it holds the folder it sees the finished work of the first (a fit, an export, frames) and
reuses it. On taking a folder the temporary files of writers that are gone are removed
(atomic.remove_stale). Where the platform has no flock (Windows), the lock is a no-op.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .atomic import remove_stale
from .errors import disk_error

try:
    import fcntl
except ImportError:  # Windows: no flock
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".flowreel.lock"


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    return f"process {text}" if text.isdigit() else "another process"


@contextmanager
def folder_lock(folder: str | os.PathLike, what: str, say: Callable[[str], None] | None = print) -> Iterator[Path]:
    """Hold `folder` (created if missing) for this process; wait, saying so, while another holds it.

    what: what the holder does there, for the waiting line ("fitting", "rendering")."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as e:
        raise (disk_error(e, folder / LOCK_NAME) or e) from None
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if say is not None:
                    say(f"waiting for {_holder(fd)}, which is {what} in {folder}")
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            except OSError:  # the pid is for the waiting line only
                pass
        remove_stale(folder)
        yield folder
    finally:
        os.close(fd)  # closing the only descriptor releases the lock
