"""The one base of user-facing errors, and the report of anything else (a bug).

A `FlowreelError` carries a one-line message that explains the user's mistake or the
environment's problem (a missing file, a bad option, an unwritable folder). Front ends (the
`trainer` command, the render script, the add-on's operators) print exactly these as one line;
anything else is a bug: `report_bug` saves its traceback to a file and prints one line that
says where, and asks for it to be filed.
"""

from __future__ import annotations

import errno
import os
import tempfile
import time
import traceback
from pathlib import Path

BUG_REPORT_ENV = "FLOWREEL_BUG_DIR"  # where bug reports go (default: the system's temp folder)


class FlowreelError(Exception):
    """A failure the user can act on; str() is one line."""

    def __str__(self) -> str:
        return " ".join(super().__str__().split())


class UsageError(FlowreelError):
    """A bad command line, found while or after parsing (exit status 2)."""


class TargetError(FlowreelError, ValueError):
    """What is to be fitted (a file, an object, words) cannot be: the message is one line naming it and the problem.
    The trainer's 3-D targets and the add-on's Export as Flowreel target both raise it."""


class RenderError(FlowreelError):
    """The render script cannot go on (bad output name, a frames folder of another render ...)."""


class DiskError(FlowreelError, OSError):
    """A write failed for want of space or permission; the message names the path (and the space needed)."""

    def __str__(self) -> str:  # OSError's default str() adds errno noise
        return " ".join(str(self.args[0]).split()) if self.args else "cannot write"


# errno -> what the user reads: a full disk, a quota, no permission, a read-only filesystem
_DISK_ERRNOS = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
                errno.EACCES: "permission denied", errno.EPERM: "permission denied",
                errno.EROFS: "read-only filesystem"}  # fmt: skip


def megabytes(n: float) -> str:
    return f"{n / 1e6:.1f} MB" if n < 1e9 else f"{n / 1e9:.2f} GB"


def free_bytes(path: str | os.PathLike) -> int | None:
    """Free bytes (for an unprivileged user) on the filesystem holding `path` or its nearest existing parent."""
    p = os.path.abspath(os.fspath(path))
    while p and not os.path.exists(p):
        p = os.path.dirname(p) if os.path.dirname(p) != p else ""
    try:
        st = os.statvfs(p or "/")
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def disk_error(
    exc: BaseException, path: str | os.PathLike | None = None, needed: int | None = None
) -> DiskError | None:
    """The one-line DiskError for an OSError of a full disk or a refused write, or None for anything else.

    The one place that turns these errors into words: atomic writes, the encoder and the front ends'
    error mapping all call it, so no write site needs its own try/except."""
    if isinstance(exc, DiskError):
        return exc
    if not isinstance(exc, OSError) or exc.errno not in _DISK_ERRNOS:
        return None
    where = os.fspath(path) if path is not None else (exc.filename or "a file")
    text = f"cannot write {where}: {_DISK_ERRNOS[exc.errno]}"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        free = free_bytes(where)
        need = f"needs {megabytes(needed)}" if needed else "needs more space"
        text += f" ({need}, {megabytes(free) if free is not None else 'unknown'} free); free some space and run again"
    err = DiskError(text)
    err.errno = exc.errno
    return err


def report_bug(exc: BaseException, prog: str) -> str:
    """Save `exc`'s traceback to a file; return the one line to show the user (no traceback on screen:
    a bug's traceback helps whoever fixes it, and would bury the one line the user needs)."""
    folder = Path(os.environ.get(BUG_REPORT_ENV) or tempfile.gettempdir())
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    where = "(could not save the traceback; run with --debug to see it)"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f"{prog}-bug-{time.strftime('%Y%m%d-%H%M%S')}-", suffix=".txt",
                                    dir=folder)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        where = f"traceback saved to {name}"
    except OSError:
        pass
    msg = " ".join(str(exc).split())
    return (f"internal error ({type(exc).__name__}{': ' + msg if msg else ''}); this is a bug, please report it "
            f"with the {where}")
