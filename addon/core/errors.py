"""The one base of user-facing errors, and the report of anything else (a bug).

A `FlowreelError` carries a one-line message that explains the user's mistake or the
environment's problem (a missing file, a bad option, an unwritable folder). Front ends (the
`trainer` command, the render script, the add-on's operators) print exactly these as one line;
anything else is a bug: `report_bug` saves its traceback to a file and prints one line that
says where, and asks for it to be filed.
"""

from __future__ import annotations

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


class RenderError(FlowreelError):
    """The render script cannot go on (bad output name, a frames folder of another render ...)."""


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
