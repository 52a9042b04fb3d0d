"""Automatic particle radius for 3-D films (a shape's box has 6 numbers, not a picture's 4).

A picture's points land on a plane that the camera sees face-on, so its radius comes from the inked
area of that plane (scene.auto_radius). A shape is seen from the side and turns with the orbit: what
must read as solid is its silhouette on screen. The end positions are projected the way the 3-D
camera looks at them (its view of the shape's front, and turned about the front's up axis as the orbit
turns); the inked area of each projection is measured like a picture's and the radius covers the mean
of them to COVER_3D.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

# Disks per point of silhouette on average. Lower than a picture's 3: a shape's silhouette holds its
# front and its back, which overlap on screen, and points that stay points show the depth.
COVER_3D = 1.5
VIEW_TURNS = tuple(math.radians(a) for a in (0.0, 45.0, 90.0, 135.0))  # opposite turns project alike


def view_planes(front: str) -> list[np.ndarray]:
    """[3, 2] matrices taking world points to screen (x, y) of the 3-D camera at each of VIEW_TURNS."""
    from ..camera.rig import view_rotation_3d

    return [view_rotation_3d(front, t)[:, :2] for t in VIEW_TURNS]


def auto_radius_3d(extent: Sequence[float], n: int, end: np.ndarray | None = None, front: str | None = None) -> float:
    """Radius for n points of a shape in the box `extent` (xmin, xmax, ymin, ymax, zmin, zmax), seen from its
    `front` (default: the rule's, core/contract/shapes3d.py); with the end positions `end` [n, 3] the radius covers
    the shape's silhouette (see the module's text)."""
    from ..camera.rig import box_corners
    from ..core.contract.shapes3d import choose_front
    from .build import ink_area

    lo = np.array(extent[0::2], dtype=np.float64)
    hi = np.array(extent[1::2], dtype=np.float64)
    diag = float(np.linalg.norm(hi - lo))
    corners = box_corners(tuple(float(v) for v in extent), 0.0)
    planes = view_planes(front or choose_front(extent))
    box_areas = []
    for m in planes:
        q = corners @ m
        box_areas.append(float(np.prod(q.max(axis=0) - q.min(axis=0))))
    r = 0.5 * math.sqrt(float(np.mean(box_areas)) / max(1, n))
    if end is not None and len(end) >= 64:
        pts = np.asarray(end, dtype=np.float64)[:, :3]
        areas = []
        for m in planes:
            q = pts @ m
            a, b = q.min(axis=0), q.max(axis=0)
            if np.all(b - a > 0):
                areas.append(ink_area([a[0], b[0], a[1], b[1]], q))
        if areas:
            r = math.sqrt(COVER_3D * float(np.mean(areas)) / (math.pi * len(pts)))
    return float(min(max(r, 1e-4 * diag), 0.02 * diag))
