"""A look's points material, evaluated in numpy: the radiance each glowing point emits (no bpy).

It follows the node chain looks/datablocks.py builds (Attribute -> lift dark colours -> Hue/Saturation
-> Emission) with Cycles' own formulas for those nodes, so the splat engine draws the colours Cycles
renders (tests/test_addon_splat.py compares the two).
"""

from __future__ import annotations

import numpy as np

from ...looks.recipes import Look

# Scene-linear Rec.709 luminance: the RGB to BW node's weights in every Blender colour config since 2.8.
LUMINANCE = np.array([0.2126, 0.7152, 0.0722])


def emission(look: Look, display: np.ndarray) -> np.ndarray:
    """float32 [n, 3] linear radiance of points whose `flowreel_display` colours are `display` [n, 3+]."""
    c = np.asarray(display, np.float64)[:, :3]
    if look.lift_below > 0:  # Mix(factor = clamp(luminance / lift_below), the look's colour, the display colour)
        fac = np.clip(c @ LUMINANCE / look.lift_below, 0.0, 1.0)[:, None]
        c = np.asarray(look.workbench_color)[None] * (1.0 - fac) + c * fac
    h, s, v = _rgb_to_hsv(c)
    rgb = _hsv_to_rgb(h, np.clip(s * look.saturation, 0.0, 1.0), v * look.value)
    return (np.maximum(rgb, 0.0) * look.strength).astype(np.float32)


def _rgb_to_hsv(c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cycles' rgb_to_hsv (hue 0 for greys)."""
    cmax, cmin = c.max(axis=1), c.min(axis=1)
    delta = cmax - cmin
    s = np.where(cmax != 0, delta / np.where(cmax != 0, cmax, 1.0), 0.0)
    d = np.where(delta > 0, delta, 1.0)
    rc, gc, bc = ((cmax - c[:, i]) / d for i in range(3))
    h = np.where(c[:, 0] == cmax, bc - gc, np.where(c[:, 1] == cmax, 2.0 + rc - bc, 4.0 + gc - rc)) / 6.0
    h = np.where(s != 0, np.where(h < 0, h + 1.0, h), 0.0)
    return h, s, cmax


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    i = np.floor(h * 6.0)
    f = h * 6.0 - i
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    i = i.astype(np.int64) % 6
    r = np.choose(i, [v, q, p, p, t, v])
    g = np.choose(i, [t, v, v, q, p, p])
    b = np.choose(i, [p, p, t, v, v, q])
    return np.stack([r, g, b], axis=1)
