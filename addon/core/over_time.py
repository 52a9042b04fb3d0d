"""Colour and size over a film's time: `--color-start COLOUR|noise`, `--size-start`, `--size-end`.

Particles can start in one colour, or in the noise's own palette (the gradient of their start
positions), and take their picture's colours as they land; their size can grow or shrink from
`size_start` to `size_end` times the radius. Both follow the film's key position s (0 on the noise,
k on key k), keyed with the film's easing (addon/scene/life.py does it in Geometry Nodes): the colour
blends over the first move (s from 0 to 1), the size over the whole film (s / (K - 1)).
No bpy: the options check and the render script use it too.
"""

from __future__ import annotations

import re

from .errors import FlowreelError

NOISE = "noise"
_HEX = re.compile(r"#?([0-9a-fA-F]{6})")
MAX_SIZE = 20.0  # a factor beyond this turns the cloud into a blob: surely a mistake


class OverTimeError(FlowreelError, ValueError):
    """A start colour or size factor that cannot work; one line."""


def parse_color_start(text: str) -> str | tuple[float, float, float] | None:
    """'' -> None (particles have their colours from the start), 'noise', or '#rrggbb' -> sRGB in 0..1."""
    t = (text or "").strip()
    if not t:
        return None
    if t.lower() == NOISE:
        return NOISE
    m = _HEX.fullmatch(t)
    if not m:
        raise OverTimeError(f"color start {t!r}: use noise or a #rrggbb colour, e.g. #ffffff")
    v = int(m.group(1), 16)
    return ((v >> 16) & 255) / 255.0, ((v >> 8) & 255) / 255.0, (v & 255) / 255.0


def check_size(name: str, value: float) -> None:
    if not (0.0 <= value <= MAX_SIZE):  # also NaN
        raise OverTimeError(f"{name} must be a factor of the radius from 0 to {MAX_SIZE:g}, got {value}")
