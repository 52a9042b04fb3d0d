"""Look definitions: the recipes of Flowreel's looks (world, points material, lights, render
settings, compositor glow), as plain data. No bpy here.

A look becomes datablocks in look_datablocks.py, is stored as ``blend_templates/<name>.blend``
(look_templates.py, built by ``blend_templates/build_looks.py`` with Debian's Blender 3.4 so every
Blender from 3.4 to 5.0 can read it) and is given to a scene by look_apply.py; its glow is a
compositor set-up (compositor.py) and its Cycles denoising is denoise.py's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.errors import FlowreelError


class LookError(FlowreelError, ValueError):
    """An unknown look, a broken template, or a look feature this Blender lacks (one-line message)."""


@dataclass(frozen=True)
class Glare:
    """A compositor glow on the render layer: Bloom where the Glare node has it (4.2+), Fog Glow
    in 3.x (the closest look there; its kernel is fixed in pixels, Bloom's scales with the image)."""

    threshold: float  # scene-linear brightness where glow starts
    size_legacy: int  # 3.x Fog Glow `size`: 6..9 (kernel 2^size pixels)
    size: float  # Bloom size: fraction of the image (0..1); 4.2-4.4 property `size` 1..9 is derived
    strength: float  # 4.5+ `Strength`; 3.x-4.4 `mix` = strength - 1 (0 = equal mix)
    saturation: float = 1.0  # 4.5+ only


@dataclass(frozen=True)
class Look:
    name: str
    description: str
    background: tuple[float, float, float]  # linear RGB of the world (what the camera sees)
    shader: str  # "EMISSION" (glowing points) or "DIFFUSE" (lit, matte points)
    strength: float  # emission strength (EMISSION) or world light strength
    saturation: float  # Hue/Saturation node on the display colour
    value: float  # brightness factor on the display colour (ink darkens it)
    settings: dict[str, Any] = field(default_factory=dict)  # property path -> value, set on the template scene
    glare: Glare | None = None
    sun: float = 0.0  # strength of one sun light (0 = no lights)
    workbench_color: tuple[float, float, float] = (1.0, 1.0, 1.0)  # viewport / Workbench single colour
    # Emission looks: display colours darker than this luminance (a black-on-white logo's own
    # colour) fade to `workbench_color`, so no particle emits black and vanishes into the night.
    lift_below: float = 0.0


_COMMON = {
    "render.engine": "CYCLES",
    "render.film_transparent": False,
    "render.filter_size": 1.5,
    "render.use_compositing": True,
    "cycles.use_adaptive_sampling": True,
    "cycles.adaptive_threshold": 0.02,
    "cycles.transparent_max_bounces": 8,
    "cycles.volume_bounces": 0,
    "cycles.transmission_bounces": 0,
    "cycles.glossy_bounces": 0,
    "view_settings.exposure": 0.0,
    "view_settings.gamma": 1.0,
    "display.shading.light": "FLAT",
    "display.shading.color_type": "MATERIAL",
    "eevee.taa_render_samples": 16,
}

# Glowing points on a dark background: light comes only from the points, so one bounce is enough.
_EMISSIVE = {
    **_COMMON,
    "cycles.samples": 64,
    "cycles.preview_samples": 16,
    "cycles.max_bounces": 1,
    "cycles.diffuse_bounces": 0,
    # Filmic exists in 3.4 and 5.0 alike (AgX does not in 3.4): one tone curve everywhere,
    # and it rolls bright overlaps off instead of clipping them to white.
    "view_settings.view_transform": "Filmic",
}

LOOKS: dict[str, Look] = {
    "glow": Look(
        name="glow",
        description="glowing points on black, emission + bloom",
        background=(0.0, 0.0, 0.0),
        shader="EMISSION",
        strength=1.0,
        saturation=1.25,
        value=1.0,
        settings={**_EMISSIVE, "view_settings.look": "Medium High Contrast"},
        glare=Glare(threshold=0.5, size_legacy=8, size=0.5, strength=0.6),
        workbench_color=(1.0, 0.85, 0.6),
        lift_below=0.1,
    ),
    "ink": Look(
        name="ink",
        description="dark ink points on warm paper, no glow",
        background=(0.87, 0.80, 0.68),  # linear; sRGB ~ (240, 232, 216) paper
        shader="DIFFUSE",
        strength=1.0,
        saturation=1.2,
        value=0.18,
        settings={
            **_COMMON,
            "cycles.samples": 32,
            "cycles.preview_samples": 8,
            "cycles.max_bounces": 2,
            "cycles.diffuse_bounces": 1,
            # Standard: the paper must come out as the paper colour, not tone-mapped grey.
            "view_settings.view_transform": "Standard",
            "view_settings.look": "None",
        },
        glare=None,
        sun=1.5,
        workbench_color=(0.05, 0.05, 0.07),
    ),
    "neon": Look(
        name="neon",
        description="saturated neon colours by start position on deep blue-black, strong bloom",
        background=(0.002, 0.002, 0.006),
        shader="EMISSION",
        strength=1.8,
        saturation=1.6,
        value=1.0,
        settings={**_EMISSIVE, "view_settings.look": "High Contrast"},
        glare=Glare(threshold=0.4, size_legacy=9, size=0.5, strength=0.8, saturation=1.3),
        workbench_color=(0.3, 0.9, 1.0),
        lift_below=0.1,
    ),
}

# The settings apply_look copies from the template scene (paths relative to the scene).
SETTINGS: tuple[str, ...] = tuple(LOOKS["glow"].settings)

def get_look(name: str) -> Look:
    """The recipe of `name`; LookError naming the choices for anything else."""
    try:
        return LOOKS[name]
    except (KeyError, TypeError):
        raise LookError(f"unknown look {name!r}: choose one of {', '.join(LOOKS)}") from None
