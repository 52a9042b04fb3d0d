"""Cycles denoising, on where this Blender build can do it."""

from __future__ import annotations

import bpy

from ..compat import oidn_available
from .datablocks import set_path
from .recipes import LookError


def set_denoise(scene: bpy.types.Scene, enabled: bool | None) -> bool:
    """Cycles denoising: None = on where this build has OpenImageDenoise (Debian's 3.4 has not, and
    rendering with it switched on fails there). Returns the state set. Raises LookError when
    denoising is forced on without OIDN."""
    have = oidn_available()
    if enabled and not have:
        raise LookError("denoising needs OpenImageDenoise, which this Blender build lacks (use --denoise off)")
    on = have if enabled is None else bool(enabled)
    cycles = getattr(scene, "cycles", None)
    if cycles is not None:
        cycles.use_denoising = on
        cycles.use_preview_denoising = False
        if on:
            set_path(cycles, "denoiser", "OPENIMAGEDENOISE")
    return on
