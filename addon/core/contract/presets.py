"""Presets (`--preset NAME`): a look, motion, colours and a camera that go together, as flag defaults.

A preset only changes defaults, so any flag given with it wins (`--preset galaxy --look neon`),
whatever its value and wherever it stands on the command line. The values are the flags' own
(argparse destinations); a command takes the ones it has: `trainer movie` all of them, the render
script the scene's (its file's paths are already made, turbulence included).
No bpy, no torch: both sides read this one table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError


@dataclass(frozen=True)
class Preset:
    description: str
    values: dict[str, Any] = field(default_factory=dict)


PRESETS: dict[str, Preset] = {
    "dust": Preset("pale dust drifts in on a slow push and settles into the picture", {
        "look": "glow", "color_start": "#d9ccb0", "size_start": 0.6, "size_end": 1.0, "easing": "EASE_OUT",
        "camera": "PUSH_IN", "turbulence": 0.35, "turbulence_scale": 2.5}),
    "swarm": Preset("a buzzing swarm of small swirls with short trails", {
        "look": "glow", "color_start": "noise", "size_start": 0.7, "size_end": 1.0, "easing": "EASE_IN_OUT",
        "camera": "STATIC", "turbulence": 0.8, "turbulence_scale": 0.8, "trail": 0.15}),
    "ink": Preset("dark ink blots that bleed and condense on paper", {
        "look": "ink", "color_start": "#1c1c24", "size_start": 1.6, "size_end": 1.0, "easing": "EASE_IN_OUT",
        "camera": "STATIC", "turbulence": 0.25, "turbulence_scale": 3.0}),
    "neon-sign": Preset("neon tubes streak in with trails and flicker into place", {
        "look": "neon", "size_start": 0.8, "size_end": 1.0, "easing": "EASE_IN_OUT",
        "camera": "PUSH_IN", "turbulence": 0.1, "turbulence_scale": 1.0, "trail": 0.25}),
    "galaxy": Preset("a slowly orbiting galaxy of wide swirls in the noise's colours", {
        "look": "glow", "color_start": "noise", "size_start": 0.5, "size_end": 1.0, "easing": "EASE_IN_OUT",
        "camera": "ORBIT", "orbit_degrees": 40.0, "turbulence": 0.6, "turbulence_scale": 4.0, "trail": 0.2}),
}


def preset_name(text: str) -> str:
    """'Neon_Sign' -> 'neon-sign'; UsageError naming the presets for anything else."""
    name = text.strip().lower().replace("_", "-").replace(" ", "-")
    if name not in PRESETS:
        raise UsageError(f"unknown preset {text!r}: choose one of {', '.join(PRESETS)}")
    return name


def given_preset(argv: Sequence[str]) -> str | None:
    """The --preset NAME on a command line (the last one wins, as argparse would), or None."""
    name = None
    for i, a in enumerate(argv):
        if a == "--":
            break
        if a == "--preset" and i + 1 < len(argv):
            name = argv[i + 1]
        elif a.startswith("--preset="):
            name = a.split("=", 1)[1]
    return None if name is None else preset_name(name)


def apply_defaults(parser: Any, argv: Sequence[str]) -> None:
    """Make the preset named on `argv` the defaults of `parser`'s flags it has (before parsing)."""
    name = given_preset(argv)
    if name is None:
        return
    dests = {a.dest for a in parser._actions}
    parser.set_defaults(**{k: v for k, v in PRESETS[name].values.items() if k in dests})


def add_preset_flag(parser: Any) -> None:
    parser.add_argument("--preset", metavar="NAME", type=preset_name,
                        help="start from a preset (flags given with it win): " + "; ".join(
                            f"{n}: {p.description}" for n, p in PRESETS.items()))
