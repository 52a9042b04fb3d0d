"""Camera moves, one row each: the names every side accepts (`--camera`, the sidebar's Camera, presets), their
labels, and what the add-on's rig does with each (addon/camera/rig.py reads the row and names no move itself).

A move is a tilt, a turn and a distance over the film: STATIC holds the fitted view, PUSH_IN starts farther out
and eases in to the fit, ORBIT tilts and turns the rig (pictures: a sweep of orbit_degrees; 3-D: a turn about the
front view's up axis that ends on the front). A move made of these is one row here; one that moves otherwise
needs its keyframes in rig.py too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Move:
    label: str
    help: str
    tilt: float = 0.0  # pictures: the camera's tilt from straight down, in radians
    orbits: bool = False  # the rig turns (orbit_degrees; 0 = 40 degrees for pictures, a full turn in 3-D)
    start_distance: float = 1.0  # starts this many fitted distances away, eases in to the fit by the film's end

    @property
    def still(self) -> bool:
        """The camera does not move: frames that show one picture are one render (core/stills.py)."""
        return not self.orbits and self.start_distance == 1.0


MOVES: dict[str, Move] = {
    "STATIC": Move("Static", "Fixed top view"),
    "PUSH_IN": Move("Push In", "Slow push-in towards the plane", start_distance=1.3),
    "ORBIT": Move("Orbit", "Tilted view orbiting around the plane", tilt=math.radians(35.0), orbits=True),
}
