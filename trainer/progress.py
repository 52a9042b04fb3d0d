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
