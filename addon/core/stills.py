"""Which frames of a film show the same picture (a hold with the static camera): rendered once, copied after.

Both sides use it: the render script's frame loop copies such frames instead of rendering them again, and
a cluster render (trainer/cluster/plan.py) keeps each run of them in one chunk, so a hold costs one render
on a cluster too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from . import timing
from .contract.camera_moves import MOVES
from .options import SceneOptions


def still_keys(opts: SceneOptions, frames: Sequence[int]) -> dict[int, tuple[float, ...]]:
    """Frames that show the same picture get the same key: flow time at the frame and both neighbours
    (so a motion-blurred frame at the edge of a hold is not taken for a still one). Only with the
    static camera: push-in and orbit move through the holds. Empty when no frame can be reused."""
    if not MOVES[opts.camera].still:
        return {}
    behind = math.ceil(opts.trail * opts.fps)  # a trail shows the frames before: still only when they are too
    return {f: tuple(round(timing.flow_time(g, opts), 9) for g in range(f - 1 - behind, f + 2)) for f in frames}
