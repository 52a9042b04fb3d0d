"""Flowreel's one version number, and what a trainer of another version must share with this add-on.

Declared here once. The wheel reads it (pyproject.toml: `dynamic = ["version"]`), the trainer re-exports it
(`flowreel.trainer.__version__`), and `scripts/stamp_version.py` writes it into the two places Blender reads
without running Python: `bl_info` in addon/__init__.py and addon/blender_manifest.toml
(tests/test_dist_version.py holds all of them equal). No bpy, no torch: both sides import it.
"""

from __future__ import annotations

VERSION = "0.1.0"


def parse(version: str) -> tuple[int, ...]:
    """'0.1.0' -> (0, 1, 0); a suffix after the numbers ('0.2.0rc1', '1.0.0+local') is left out."""
    parts: list[int] = []
    for piece in str(version).split("+")[0].split("."):
        digits = ""
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        if not digits:
            break
        parts.append(int(digits))
        if digits != piece:
            break
    return tuple(parts)


def compatible(trainer_version: str, addon_version: str = VERSION) -> bool:
    """A trainer this add-on knows: the same major.minor (the progress lines, flags and run folders the add-on
    relies on change only with the minor version; patch releases only fix)."""
    a, b = parse(trainer_version), parse(addon_version)
    return len(a) >= 2 and a[:2] == b[:2]
