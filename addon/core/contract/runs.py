"""Run folders: one naming for every side, so a fit started from Blender (Fit Picture, Fit Selected Object) and
`trainer movie` (or a sequence's flows) on the same target with the same settings share one run.

A run folder is `<stem>-<key>`: the key is a hash of the target's bytes (sha256), how it is read (the reading
options off their defaults, and the kind's reading version) and what the fit learns (method, steps, seed and any
other fit setting off its default). Where or how fast a fit trains (device, threads) is not in the key.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

# How each kind of target is read, versioned. Bump a kind's number when its reading changes (an axis convention,
# a crop rule, a resampling): a run fitted under the older reading is then another folder, never reused.
READING_VERSIONS: dict[str, int] = {
    "picture": 1,  # PNG/JPEG/... and SVG pictures (ink, crop to the ink, smooth resampling of small pictures)
    "slab": 1,  # a picture with depth
    "text": 1,  # --text: words drawn in a font
    "3d": 2,  # meshes and point clouds; 2: OBJ and glTF read y up, the others z up (1 read every file z up)
}
# The trainer's reading defaults: an option at its default is left out of the key, so a side that spells it out
# (the add-on passes --crop ink, --fill surface) and one that does not name the same run.
READING_DEFAULTS: dict[str, Any] = {"invert": False, "threshold": None, "max_side": 512, "crop": "ink", "frame": None,
                                    "depth": None, "fill": "surface", "up": None, "forward": None}


def safe_name(stem: str) -> str:
    """A name for a folder or file: an object's or a picture's name may hold anything."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "target"


def reading_key(kind: str, reading: dict[str, Any]) -> dict[str, Any]:
    """The reading options that make a difference: those off their defaults, and the kind's reading version."""
    if kind not in READING_VERSIONS:
        raise ValueError(f"unknown target kind {kind!r}")
    off = {k: v for k, v in reading.items() if v is not None and READING_DEFAULTS.get(k, None) != v}
    return {"kind": kind, "version": READING_VERSIONS[kind], **off}


def run_key(kind: str, target_sha256: str, reading: dict[str, Any], fit: dict[str, Any]) -> str:
    """The 10 hex digits that name a run: target bytes, reading and fit (see the module docstring)."""
    key = {"target": target_sha256, "reading": reading_key(kind, reading), "fit": fit}
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:10]


def run_dir(root: str | os.PathLike, stem: str, kind: str, target_sha256: str, reading: dict[str, Any],
            fit: dict[str, Any]) -> Path:
    """The run folder under `root` for a target (its name `stem`, its bytes' sha256) read and fitted so."""
    return Path(root) / f"{safe_name(stem)}-{run_key(kind, target_sha256, reading, fit)}"
