"""A film's keys and timeline (trajformat v2) resolved into the scene's timing: seconds per hold and move.

Pure Python. The file says what each key is and may say how long to rest on it and to move between
keys; the user's options fill the gaps and may override either. Precedence, per key and per move:
the options' lists (`key_holds`, `move_seconds`: the panel's rows, the render script's flags), then
the file (a hold segment's seconds, else the key's `hold`; a move's seconds), then the defaults: the
film's first key rests `hold_start`, its last `hold_end` (first and last as played, so `reverse` keeps
a single flow's timing), a middle key `hold_keys`, and a move takes `seconds`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from .options import OptionsError, SceneOptions


def key_label(key: dict[str, Any], k: int) -> str:
    """How a key is named to the user: its picture's name, else its kind ('noise')."""
    return str(key.get("name") or key.get("kind") or f"key {k}")


def resolve(opts: SceneOptions, keys: Sequence[dict[str, Any]], segments: Sequence[dict[str, Any]]) -> SceneOptions:
    """`opts` with `key_holds` (one per key) and `move_seconds` (one per move) filled in; OptionsError
    names a list of the wrong length."""
    n = len(keys)
    for name, values, want in (("key holds", opts.key_holds, n), ("move seconds", opts.move_seconds, n - 1)):
        if values and len(values) != want:
            raise OptionsError(f"{len(values)} {name} given, but the film has {n} keys ({want} needed): "
                               f"{', '.join(key_label(k, i) for i, k in enumerate(keys))}")
    first, last = (n - 1, 0) if opts.reverse else (0, n - 1)
    held = {s.get("key"): s.get("seconds") for s in segments if s.get("kind") == "hold"}
    moved = {s.get("from"): s.get("seconds") for s in segments if s.get("kind") == "move"}
    holds = []
    for k, key in enumerate(keys):
        default = opts.hold_start if k == first else opts.hold_end if k == last else opts.hold_keys
        file_value = held.get(k) if held.get(k) is not None else key.get("hold")
        holds.append(float(opts.key_holds[k] if opts.key_holds else default if file_value is None else file_value))
    moves = []
    for k in range(n - 1):
        file_value = moved.get(k)
        moves.append(float(opts.move_seconds[k] if opts.move_seconds else opts.seconds if file_value is None
                           else file_value))
    return dataclasses.replace(opts, key_holds=tuple(holds), move_seconds=tuple(moves))


def resolve_file(opts: SceneOptions, traj: Any) -> SceneOptions:
    """`resolve` for a read trajectory (any object with `keys` and `segments`, v1 files included)."""
    return resolve(opts, traj.keys, traj.segments)
