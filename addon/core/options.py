"""Scene options shared by the import operator, the sidebar panel and the headless render script.

Pure Python (no bpy), so the render script can parse arguments into it and tests can build it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass

EASINGS = ("LINEAR", "EASE_IN_OUT", "EASE_IN", "EASE_OUT")
CAMERA_MOVES = ("STATIC", "PUSH_IN", "ORBIT")
COLOR_MODES = ("IMAGE", "GRADIENT", "SINGLE")
LOOKS = ("glow", "ink", "neon")
ENGINES = ("CYCLES", "EEVEE", "WORKBENCH")


@dataclass
class SceneOptions:
    """Everything that shapes the imported scene; defaults make a good 5 s film."""

    radius: float = 0.0  # particle radius in world units; 0 = automatic from extent and count
    max_particles: int = 0  # import a subset; 0 = all
    color_mode: str = "IMAGE"  # IMAGE colour, GRADIENT by start position, or SINGLE colour
    color: tuple[float, float, float, float] = (1.0, 0.85, 0.6, 1.0)  # for SINGLE
    look: str = "glow"
    seconds: float = 5.0  # duration of the flow itself, holds excluded
    fps: int = 24
    hold_start: float = 0.5  # seconds of noise at rest before the flow
    hold_end: float = 1.0  # seconds of the image at rest after the flow
    easing: str = "EASE_IN_OUT"
    reverse: bool = False  # image dissolves into noise
    ping_pong: bool = False  # noise -> image -> noise, for looping GIFs
    camera: str = "STATIC"
    resolution: tuple[int, int] = (1920, 1080)
    lens_mm: float = 50.0
    depth_of_field: bool = False
    motion_blur: bool = False
    cache_dir: str = ""  # "" = "//flowreel_cache" beside the .blend (or beside the .npz if unsaved)
    seed: int = 0  # subset choice and random ids

    def check(self) -> None:
        """Raise ValueError with one clear line for values that cannot work."""
        for name, value, allowed in (
            ("easing", self.easing, EASINGS),
            ("camera", self.camera, CAMERA_MOVES),
            ("color_mode", self.color_mode, COLOR_MODES),
            ("look", self.look, LOOKS),
        ):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        if not (self.seconds > 0):
            raise ValueError(f"seconds must be > 0, got {self.seconds}")
        if not (1 <= self.fps <= 240):
            raise ValueError(f"fps must be between 1 and 240, got {self.fps}")
        if self.hold_start < 0 or self.hold_end < 0:
            raise ValueError("holds must be >= 0 seconds")
        if self.radius < 0 or self.max_particles < 0:
            raise ValueError("radius and max_particles must be >= 0")
        w, h = self.resolution
        if not (16 <= w <= 16384 and 16 <= h <= 16384):
            raise ValueError(f"resolution must be between 16 and 16384 pixels a side, got {w}x{h}")


# Command-line types shared by the render script and `trainer movie` (argparse shows their messages).
def parse_resolution(text: str) -> tuple[int, int]:
    """'1920x1080' -> (1920, 1080)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"resolution must look like 1920x1080, got {text!r}") from None
    if not (16 <= w <= 16384 and 16 <= h <= 16384):
        raise argparse.ArgumentTypeError(f"resolution must be between 16 and 16384 pixels a side, got {text}")
    return w, h


def choice(allowed: Sequence[str], upper: bool = True) -> Callable[[str], str]:
    """A case-insensitive choice: 'ease-in-out' -> 'EASE_IN_OUT' (upper) or 'Glow' -> 'glow'."""

    def conv(text: str) -> str:
        v = text.upper().replace("-", "_") if upper else text.lower()
        if v not in allowed:
            raise argparse.ArgumentTypeError(
                f"unknown value {text!r}: choose one of {', '.join(a.lower() for a in allowed)}"
            )
        return v

    return conv
