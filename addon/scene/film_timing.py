"""A built film's timing, kept on its points object so it can be edited after the import.

`build_scene` stores the film's keys (names, kinds, cache samples) and its resolved timing in the
object's ``flowreel_film`` property (JSON) and fills its key rows (`key_props.FlowreelKey`, the
Keys panel). Editing a row's hold or move seconds calls `retime`, which re-keys everything the
timing drives: the Mesh Cache's `eval_frame`, the colour blend's Key Position, the scene's frame
range, the ends of the camera's move and a sequence's per-key framing (camera.key_framing).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import bpy

from .. import compat
from ..core import sequence, timing
from ..core.options import SceneOptions

FILM = "flowreel_film"
CACHE_PATH = 'modifiers["Flowreel Cache"].eval_frame'
ACTION = "Flowreel Timing"
_filling = False  # rows are being filled: their update callbacks must not re-key half a list


def film(obj: bpy.types.Object) -> dict[str, Any] | None:
    """The stored film of a Flowreel points object, or None for any other object."""
    raw = obj.get(FILM) if obj is not None else None
    try:
        return json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


def store(obj: bpy.types.Object, opts: SceneOptions, keys: Sequence[dict[str, Any]], samples: Sequence[float],
          key_input: str = "") -> None:
    """Remember the film's keys (with the cache sample of each) and resolved timing on `obj`; fill its key
    rows where registered."""
    lay = timing.layout(opts)
    obj[FILM] = json.dumps({
        "keys": [{"name": sequence.key_label(k, i), "kind": k.get("kind"), "sample": samples[i]}
                 for i, k in enumerate(keys)],
        "fps": opts.fps, "easing": opts.easing, "reverse": opts.reverse, "ping_pong": opts.ping_pong,
        "key_holds": list(opts.key_holds), "move_seconds": list(opts.move_seconds),
        "start": lay.start, "end": lay.end, "key_input": key_input,
    })  # fmt: skip
    fill_rows(obj)


def fill_rows(obj: bpy.types.Object) -> None:
    """One row per key (name, kind, hold, seconds of the move out of it) from the stored film."""
    global _filling
    f = film(obj)
    rows = getattr(obj, "flowreel_keys", None)
    if f is None or rows is None:  # the render script builds scenes without the add-on registered
        return
    _filling = True
    try:
        rows.clear()
        for k, key in enumerate(f["keys"]):
            row = rows.add()
            row.name, row.kind = key["name"], key["kind"] or ""
            row.hold = f["key_holds"][k]
            row.seconds = f["move_seconds"][k] if k < len(f["move_seconds"]) else 0.0
    finally:
        _filling = False


def film_options(obj: bpy.types.Object, opts: SceneOptions) -> SceneOptions:
    """`opts` with the per-key timing `obj`'s film has now (what its frames show)."""
    f = film(obj)
    if f is None:
        return opts
    return dataclasses.replace(opts, key_holds=tuple(f["key_holds"]), move_seconds=tuple(f["move_seconds"]))


def on_row_edit(row, context) -> None:
    """A key row changed: re-key the film it belongs to."""
    if _filling:
        return
    obj = row.id_data
    rows = list(obj.flowreel_keys)
    retime(obj, context.scene, [r.hold for r in rows], [r.seconds for r in rows[:-1]])


def retime(obj: bpy.types.Object, scene: bpy.types.Scene, holds: Sequence[float], moves: Sequence[float]) -> None:
    """Give `obj`'s film these holds and move seconds (key order): re-key its timing, frame range and camera."""
    from ..camera.rig import key_framing
    from .build import POINTS_MOD
    from .key_colors import key_fcurve

    f = film(obj)
    if f is None or len(holds) != len(f["keys"]) or len(moves) != len(f["keys"]) - 1:
        return
    opts = SceneOptions(fps=f["fps"], easing=f["easing"], reverse=f["reverse"], ping_pong=f["ping_pong"],
                        key_holds=tuple(max(0.0, h) for h in holds), move_seconds=tuple(max(1e-3, m) for m in moves))
    lay = timing.layout(opts, f["start"])
    timing.key_fcurve(compat.ensure_fcurve(obj, CACHE_PATH, 0, ACTION), opts, frame_start=f["start"],
                      samples=[k["sample"] for k in f["keys"]])
    geo = obj.modifiers.get(POINTS_MOD)
    if f["key_input"] and geo is not None:
        key_fcurve(obj, geo, f["key_input"], opts, ACTION, frame_start=f["start"])
    _move_end_keys(scene, f["end"], lay.end)
    key_framing(scene.camera, opts, f["start"])  # a sequence framed per key: its camera follows the keys
    scene.frame_start, scene.frame_end = lay.start, lay.end
    f.update(key_holds=list(opts.key_holds), move_seconds=list(opts.move_seconds), end=lay.end)
    obj[FILM] = json.dumps(f)


def _move_end_keys(scene: bpy.types.Scene, old: int, new: int) -> None:
    """The camera's push-in and orbit run from the film's first frame to its last (a full-turn orbit to the
    frame after it, where the loop closes): move their last keys."""
    cam = scene.camera
    if cam is None or old == new:
        return
    for ob in (cam, cam.parent):
        if ob is None:
            continue
        for fc in compat.fcurves_of(ob):
            for p in fc.keyframe_points:
                if round(p.co.x) in (old, old + 1):
                    shift = new - p.co.x
                    p.co.x += shift
                    p.handle_left.x += shift
                    p.handle_right.x += shift
            fc.update()
