"""Trails (`--trail SECONDS`): ghosts of earlier frames that follow each particle and taper away.

A trail is G ghost copies of the points object (G = the trail's frames, at most GHOSTS; each shares the
mesh, the point cache and the Geometry Nodes group) whose F-curves, the Mesh Cache's `eval_frame` and the
colour and size inputs alike, are the film's own shifted i * trail / G seconds later: ghost i shows
where every particle was that long ago, in the colour it had then, with a radius tapering to zero
along the trail. Where the particles rest, every ghost sits inside its particle (same place, smaller
radius) and the trail is gone; the first frames after a move still show it arriving.

Chosen over the alternatives (bench/RESULTS.md "Motion and output layers"): a long-shutter motion blur
smears evenly (no taper, no fading tail), needs a motion step per bend of a curved path, each adding to
the render, and Workbench has none; ghosts accumulated in the frames (an echo) would make each frame
depend on the ones before it, which breaks resuming and render-farm slices. Ghosts are geometry, so every
frame still renders on its own and a saved .blend keeps them. Their cost is G times the points.
"""

from __future__ import annotations

import math

import bpy

from .. import compat
from ..core.options import SceneOptions

GHOSTS = 8  # enough for a smooth taper; each one is another copy of the points to render
PREFIX = "Flowreel Trail"


def ghost_count(opts: SceneOptions) -> int:
    """Ghosts of a trail: one per frame of it, at least 2, at most GHOSTS; 0 without a trail."""
    if opts.trail <= 0:
        return 0
    return int(min(GHOSTS, max(2, math.ceil(opts.trail * opts.fps))))


def add_trail(obj: bpy.types.Object, modifier_name: str, radius_key: str, radius: float,
              opts: SceneOptions) -> list[bpy.types.Object]:
    """Ghost copies of the points object `obj` in its collections; returns them."""
    n = ghost_count(opts)
    if n == 0:
        return []
    step = opts.trail * opts.fps / n  # scene frames between two ghosts
    curves = compat.fcurves_of(obj)
    ghosts = []
    for i in range(1, n + 1):
        g = obj.copy()  # the same mesh data and modifiers (their node group shared), its own modifier values
        g.name = f"{PREFIX} {i}"
        for key in list(g.keys()):  # not a Flowreel points object itself (film, keys, source)
            del g[key]
        g.animation_data_clear()
        for coll in obj.users_collection:
            coll.objects.link(g)
        for fc in curves:
            _copy_shifted(fc, compat.ensure_fcurve(g, fc.data_path, fc.array_index, f"{PREFIX} {i}"), i * step)
        g.modifiers[modifier_name][radius_key] = radius * (1.0 - i / (n + 1))
        g.hide_select = True  # picking the film picks the particles, not a ghost
        ghosts.append(g)
    return ghosts


def _copy_shifted(src, dst, frames: float) -> None:
    """dst = src delayed by `frames` (keys, interpolation, easing and extrapolation)."""
    pts = dst.keyframe_points
    pts.add(len(src.keyframe_points))
    for p, q in zip(pts, src.keyframe_points, strict=True):
        p.co = (q.co[0] + frames, q.co[1])
        p.handle_left_type, p.handle_right_type = q.handle_left_type, q.handle_right_type
        p.interpolation = q.interpolation
        p.easing = q.easing
    dst.extrapolation = src.extrapolation
    dst.update()
