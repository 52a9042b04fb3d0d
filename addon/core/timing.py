"""Scene timing: holds, flow duration, easing, reverse and ping-pong.

The map scene frame -> flow time t is stored in Blender as ordinary keyframes on the Mesh Cache
modifier's `eval_frame` (value t * (T - 1), the cache sample), so it plays without any Python
handler and stays editable in the Graph Editor. Easing uses Blender's own Penner easing
(interpolation 'CUBIC' with an explicit easing per key); `flow_time` reproduces those formulas in
pure Python so tests and the render script can predict every frame.

Layout (frames counted from the scene start frame `f0`, all lengths rounded to whole frames):
    [hold_start][flow: seconds][hold_end]            (+ [flow back: seconds] with ping_pong)
Forward: noise at rest, the flow, then the image at rest. `reverse` swaps t -> 1 - t, so the
image rests, dissolves into noise, and noise rests. A ping-pong film ends one frame before it
would repeat its first frame, so a looping GIF has no stutter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .options import SceneOptions

FRAME_START = 1

# easing preset -> (Blender keyframe interpolation, easing of the flow key)
EASING_KEYS = {
    "LINEAR": ("LINEAR", "AUTO"),
    "EASE_IN_OUT": ("CUBIC", "EASE_IN_OUT"),
    "EASE_IN": ("CUBIC", "EASE_IN"),
    "EASE_OUT": ("CUBIC", "EASE_OUT"),
}


@dataclass(frozen=True)
class Layout:
    """Whole-frame boundaries of the film; keys sit exactly on these frames."""

    start: int  # first scene frame
    flow_start: int  # last frame of the first hold (t still at its start value)
    flow_end: int  # first frame at the end value
    back_start: int  # ping-pong: last frame of the hold at the end value (== flow_end otherwise)
    back_end: int  # ping-pong: first frame back at the start value (== flow_end otherwise)
    end: int  # last scene frame

    @property
    def frames(self) -> int:
        return self.end - self.start + 1


def layout(opts: SceneOptions, frame_start: int = FRAME_START) -> Layout:
    hs = _frames(opts.hold_start, opts.fps)
    fl = max(1, _frames(opts.seconds, opts.fps))
    he = _frames(opts.hold_end, opts.fps)
    flow_start = frame_start + hs
    flow_end = flow_start + fl
    if opts.ping_pong:
        back_start = flow_end + he
        back_end = back_start + fl
        end = back_end + hs - 1  # the frame after `end` would equal the first frame: seamless loop
    else:
        back_start = back_end = flow_end
        end = flow_end + he
    return Layout(frame_start, flow_start, flow_end, back_start, back_end, end)


def _frames(seconds: float, fps: int) -> int:
    return int(math.floor(seconds * fps + 0.5))


def scene_frame_count(opts: SceneOptions) -> int:
    """Number of frames in the film (holds included; ping-pong about doubles it)."""
    return layout(opts).frames


def ease(u: float, easing: str) -> float:
    """Blender's Penner cubic easing of u in [0, 1] (what 'CUBIC' keyframes evaluate to)."""
    u = min(1.0, max(0.0, u))
    if easing == "LINEAR":
        return u
    if easing == "EASE_IN":
        return u**3
    if easing == "EASE_OUT":
        return (u - 1.0) ** 3 + 1.0
    if easing == "EASE_IN_OUT":
        return 4.0 * u**3 if u < 0.5 else 0.5 * ((2.0 * u - 2.0) ** 3 + 2.0)
    raise ValueError(f"unknown easing {easing!r}")


def flow_time(frame: float, opts: SceneOptions, frame_start: int = FRAME_START) -> float:
    """Flow time t in [0, 1] shown at scene `frame` (0 = noise, 1 = image)."""
    lay = layout(opts, frame_start)
    if frame <= lay.flow_start:
        s = 0.0
    elif frame < lay.flow_end:
        s = ease((frame - lay.flow_start) / (lay.flow_end - lay.flow_start), opts.easing)
    elif not opts.ping_pong or frame <= lay.back_start:
        s = 1.0
    elif frame < lay.back_end:
        s = 1.0 - ease((frame - lay.back_start) / (lay.back_end - lay.back_start), opts.easing)
    else:
        s = 0.0
    return 1.0 - s if opts.reverse else s


def keys(opts: SceneOptions, frame_start: int = FRAME_START) -> list[tuple[int, float, str, str]]:
    """Keyframes (frame, t, interpolation, easing) of the segment starting at each key."""
    lay = layout(opts, frame_start)
    interp, easing = EASING_KEYS[opts.easing]

    def v(s: float) -> float:
        return 1.0 - s if opts.reverse else s

    out = []
    if lay.flow_start > lay.start:
        out.append((lay.start, v(0.0), "LINEAR", "AUTO"))
    out.append((lay.flow_start, v(0.0), interp, easing))
    if opts.ping_pong:
        if lay.back_start > lay.flow_end:
            out.append((lay.flow_end, v(1.0), "LINEAR", "AUTO"))
        out.append((lay.back_start, v(1.0), interp, easing))
        out.append((lay.back_end, v(0.0), "LINEAR", "AUTO"))
        if lay.end > lay.back_end:
            out.append((lay.end, v(0.0), "LINEAR", "AUTO"))
    else:
        out.append((lay.flow_end, v(1.0), "LINEAR", "AUTO"))
        if lay.end > lay.flow_end:
            out.append((lay.end, v(1.0), "LINEAR", "AUTO"))
    return out


def key_fcurve(fcurve, opts: SceneOptions, scale: float = 1.0, frame_start: int = FRAME_START) -> None:
    """Fill a (bpy) F-curve with the timing keys, values multiplied by `scale` (e.g. T - 1)."""
    ks = keys(opts, frame_start)
    pts = fcurve.keyframe_points
    while len(pts):
        pts.remove(pts[0], fast=True)
    pts.add(len(ks))
    for p, (frame, t, interp, easing) in zip(pts, ks, strict=True):
        p.co = (frame, t * scale)
        p.handle_left_type = p.handle_right_type = "AUTO_CLAMPED"
        p.interpolation = interp
        p.easing = easing
    fcurve.extrapolation = "CONSTANT"
    fcurve.update()


def eased_progress(frame: float, start: int, end: int, easing: str) -> float:
    """Progress in [0, 1] of a camera move keyed from `start` to `end` with the film's easing."""
    if end <= start:
        return 1.0
    return ease((frame - start) / (end - start), easing)
