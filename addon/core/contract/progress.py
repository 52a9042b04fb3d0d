"""Progress events, the one schema both sides speak (no bpy, no torch).

The trainer's `--progress json` writes one JSON object per line on stdout (trainer/fit/progress.py,
JsonProgress); the add-on's jobs read them (addon/jobs/runner.py). The render script writes one human line
per frame (addon/render/frame_loop.py) that the add-on reads for Render Film's progress. Both formats are
declared here, with their readers, so a change to either is made once.
"""

from __future__ import annotations

import json
import re
from typing import Any

# event -> the fields it carries (any may be absent; a sequence's lines add flow/flows: which of how many flows)
EVENTS: dict[str, tuple[str, ...]] = {
    "start": ("stage", "run_dir", "steps", "resume"),  # a fit begins (or resumes)
    "progress": ("stage", "step", "steps", "loss", "elapsed", "eta"),  # a training step (throttled)
    "stage": ("stage", "particles", "frames"),  # a new stage begins: eval, export
    "done": ("status", "run_dir", "export", "step", "steps", "seconds", "excess_tv"),  # status: ok or interrupted
}


def event_line(event: str, **fields: Any) -> str:
    """One event as its JSON line (no newline)."""
    if event not in EVENTS:
        raise ValueError(f"unknown progress event {event!r}")
    return json.dumps({"event": event, **fields}, allow_nan=False, default=str)


def read_event(line: str) -> dict | None:
    """The event a line carries, or None for any other line (a stray human line is no progress)."""
    try:
        ev = json.loads(line)
    except ValueError:
        return None
    return ev if isinstance(ev, dict) and ev.get("event") in EVENTS else None


def clock(seconds: float) -> str:
    """'m:ss' (or 'h:mm:ss'): the render's progress lines and the add-on's status text."""
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def clock_seconds(text: str) -> float:
    """clock()'s text back to seconds."""
    total = 0
    for part in text.split(":"):
        total = total * 60 + int(part)
    return float(total)


def render_line(prog: str, frame: int, done: int, todo: int, how: str, elapsed: float, eta: float) -> str:
    """The render script's line for a finished frame: `frame` (scene number) is the `done`-th of `todo`."""
    return f"{prog}: frame {frame} ({done}/{todo}) {how}, elapsed {clock(elapsed)}, ETA {clock(eta)}"


_RENDER_LINE = re.compile(r"frame (\d+) \((\d+)/(\d+)\).*?elapsed ([\d:]+), ETA ([\d:]+)")


def read_render_line(line: str) -> tuple[int, int, float, float] | None:
    """(done, todo, elapsed, eta) of a render_line(), or None for any other line."""
    m = _RENDER_LINE.search(line)
    if not m:
        return None
    return int(m[2]), int(m[3]), clock_seconds(m[4]), clock_seconds(m[5])
