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

A sequence (K keys: noise -> picture A -> picture B ...) generalizes this: [hold 0][move 0->1][hold 1]
... [hold K-1], each move eased on its own so every key lands calmly; reverse plays the keys last to
first and ping-pong goes back through them all. The per-key seconds come from `opts.key_holds` and
`opts.move_seconds`, which core/sequence.py resolves from the file (a single flow keeps the fields
above). Its F-curve values are key positions s (s = k on key k) mapped to each key's cache sample.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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
class Stop:
    """The film resting on one key: from frame `arrive` to `leave` (equal when it does not hold)."""

    arrive: int
    leave: int
    key: int  # the key shown (0 .. K-1)


@dataclass(frozen=True)
class Layout:
    """Whole-frame boundaries of the film; keys sit exactly on these frames.

    A film plays its keys in order (last to first with `reverse`), resting on each (`stops`) and moving
    between neighbours; ping-pong plays back to the first key. For a single flow (two keys) the fields
    below are the classic [hold_start][flow][hold_end] boundaries."""

    start: int  # first scene frame
    flow_start: int  # last frame of the first hold (t still at its start value)
    flow_end: int  # first frame at the end value (the film's far key)
    back_start: int  # ping-pong: last frame of the hold at the end value (== flow_end otherwise)
    back_end: int  # ping-pong: first frame back at the start value (== flow_end otherwise)
    end: int  # last scene frame
    stops: tuple[Stop, ...] = ()  # every rest on a key, in film order (ping-pong: there and back)
    n_keys: int = 2

    @property
    def frames(self) -> int:
        return self.end - self.start + 1


def n_keys(opts: SceneOptions) -> int:
    """Keys of the film: from the per-key holds once a sequence's timing is resolved, else 2 (one flow)."""
    return len(opts.key_holds) if opts.key_holds else 2


def key_timing(opts: SceneOptions) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(hold seconds of each key, seconds of each move k -> k+1), in key order.

    Without per-key lists (a single flow whose timing was not resolved from a file): the first key
    holds `hold_start`, the last `hold_end` (swapped with `reverse`: they name the film's start and
    end), and the move takes `seconds`. core/sequence.py resolves a file's keys into these lists."""
    if opts.key_holds:
        holds = tuple(opts.key_holds)
        moves = tuple(opts.move_seconds) if opts.move_seconds else (opts.seconds,) * (len(holds) - 1)
        if len(moves) != len(holds) - 1:
            raise ValueError(f"{len(holds)} key holds need {len(holds) - 1} move seconds, got {len(moves)}")
        return holds, moves
    key0, key1 = (opts.hold_end, opts.hold_start) if opts.reverse else (opts.hold_start, opts.hold_end)
    return (key0, key1), (opts.seconds,)


def layout(opts: SceneOptions, frame_start: int = FRAME_START) -> Layout:
    holds, moves = key_timing(opts)
    k = len(holds)
    order = list(range(k - 1, -1, -1)) if opts.reverse else list(range(k))
    path = order + order[-2::-1] if opts.ping_pong else order  # keys in film order
    stops = []
    f = frame_start
    for i, key in enumerate(path):
        leave = f + _frames(holds[key], opts.fps)
        stops.append(Stop(f, leave, key))
        if i + 1 < len(path):
            f = leave + max(1, _frames(moves[min(key, path[i + 1])], opts.fps))
    # A ping-pong film ends one frame before it would repeat its first frame: a seamless loop.
    end = stops[-1].leave - 1 if opts.ping_pong else stops[-1].leave
    turn = stops[k - 1]
    back = (turn.leave, stops[-1].arrive) if opts.ping_pong else (turn.arrive, turn.arrive)
    return Layout(frame_start, stops[0].leave, turn.arrive, back[0], back[1], end, tuple(stops), k)


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


def key_position(frame: float, opts: SceneOptions, frame_start: int = FRAME_START) -> float:
    """Film key position s in [0, K-1] at scene `frame`: s = k on key k, eased in and out on each move."""
    stops = layout(opts, frame_start).stops
    if frame <= stops[0].leave:
        return float(stops[0].key)
    for a, b in zip(stops, stops[1:], strict=False):
        if frame <= a.leave:
            return float(a.key)
        if frame < b.arrive:
            u = ease((frame - a.leave) / (b.arrive - a.leave), opts.easing)
            return a.key + u * (b.key - a.key)
    return float(stops[-1].key)


def flow_time(frame: float, opts: SceneOptions, frame_start: int = FRAME_START) -> float:
    """Film time t in [0, 1] shown at scene `frame`: s / (K - 1) (for one flow: 0 = noise, 1 = image)."""
    return key_position(frame, opts, frame_start) / (n_keys(opts) - 1)


def _key_points(opts: SceneOptions, frame_start: int = FRAME_START) -> list[tuple[int, float, str, str]]:
    """Keyframes (frame, key position s, interpolation, easing): each move is one eased segment, so
    every key lands calmly, and a hold is a flat segment between two keys of the same value."""
    lay = layout(opts, frame_start)
    interp, easing = EASING_KEYS[opts.easing]
    out = []
    for stop in lay.stops[:-1]:
        if stop.leave > stop.arrive:
            out.append((stop.arrive, float(stop.key), "LINEAR", "AUTO"))
        out.append((stop.leave, float(stop.key), interp, easing))
    last = lay.stops[-1]
    out.append((last.arrive, float(last.key), "LINEAR", "AUTO"))
    if lay.end > last.arrive:
        out.append((lay.end, float(last.key), "LINEAR", "AUTO"))
    return out


def keys(opts: SceneOptions, frame_start: int = FRAME_START) -> list[tuple[int, float, str, str]]:
    """Keyframes (frame, t, interpolation, easing) of the segment starting at each key."""
    k = n_keys(opts) - 1
    return [(f, s / k, interp, easing) for f, s, interp, easing in _key_points(opts, frame_start)]


def key_fcurve(fcurve, opts: SceneOptions, scale: float = 1.0, frame_start: int = FRAME_START,
               samples: Sequence[float] | None = None) -> None:
    """Fill a (bpy) F-curve with the timing keys: values t * `scale` (e.g. T - 1), or with `samples`
    the value at key k is samples[k] (a sequence's key frame indices: the cache sample of each key)."""
    ks = _key_points(opts, frame_start)
    k = n_keys(opts) - 1
    pts = fcurve.keyframe_points
    while len(pts):
        pts.remove(pts[0], fast=True)
    pts.add(len(ks))
    for p, (frame, s, interp, easing) in zip(pts, ks, strict=True):
        p.co = (frame, float(samples[int(s)]) if samples is not None else s / k * scale)
        p.handle_left_type = p.handle_right_type = "AUTO_CLAMPED"
        p.interpolation = interp
        p.easing = easing
    fcurve.extrapolation = "CONSTANT"
    fcurve.update()


def sample_at(s: float, samples: Sequence[float]) -> float:
    """Cache sample shown at key position s: linear between the keys' samples (moves are sampled
    equally in time between their keys), as the eased F-curve gives between two of its keys."""
    k = min(max(0, int(math.floor(s))), len(samples) - 2)
    return samples[k] + (s - k) * (samples[k + 1] - samples[k])


def eased_progress(frame: float, start: int, end: int, easing: str) -> float:
    """Progress in [0, 1] of a camera move keyed from `start` to `end` with the film's easing."""
    if end <= start:
        return 1.0
    return ease((frame - start) / (end - start), easing)
