"""Render engine set-up for the render script: engine, samples, denoising, Workbench preview shading."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from .. import compat
from ..core.contract.render_quality import RENDER_QUALITY
from ..core.errors import RenderError
from ..looks.datablocks import set_path
from ..looks.denoise import set_denoise
from .frame_loop import PROG


def configure_engine(scene, args: argparse.Namespace, points: Sequence = ()) -> str:
    """Engine, samples, denoising and the Workbench preview shading; returns the engine id.
    `points`: the Flowreel points objects (EEVEE Legacy needs real spheres on them)."""
    if args.engine == "SPLAT":
        args.engine = _splat_or_cycles(scene, args, points)
    engine = compat.engine_id(args.engine)
    if args.engine == "EEVEE" and not compat.eevee_draws_point_clouds():
        for obj in points:
            compat.add_legacy_eevee_spheres(obj)
    scene.render.engine = engine
    if args.samples is not None:
        if args.samples < 1:
            raise RenderError(f"samples must be >= 1, got {args.samples}")
        set_path(scene, "cycles.samples", args.samples)
        set_path(scene, "eevee.taa_render_samples", args.samples)
    set_denoise(scene, {"auto": None, "on": True, "off": False}[args.denoise] if engine == "CYCLES" else False)
    quality = getattr(args, "quality", None)
    if quality and engine == "CYCLES":  # the quality's settings that have no flag (bench/bench_quality.py)
        for path, value in RENDER_QUALITY[quality]["cycles"].items():
            set_path(scene, f"cycles.{path}", value)
    if engine == "BLENDER_WORKBENCH":
        shading = scene.display.shading
        shading.light = "FLAT"
        shading.color_type = "MATERIAL"  # the look material's viewport colour
        if any(ob.get("flowreel_dim") == 3 for ob in points):  # a shape: studio light, shadow and cavity
            workbench_depth_shading(scene)
        scene.render.use_compositing = False  # a preview: no glare pass
        # Each anti-aliasing sample is a full redraw, many times the cost of an unsmoothed frame through
        # software OpenGL (bench/results/defaults.md).
        set_path(scene, "display.render_aa", "OFF")
    return engine


def _splat_or_cycles(scene, args: argparse.Namespace, points: Sequence) -> str:
    """SPLAT where it draws what Cycles would; else CYCLES, saying why in one line."""
    from ..looks.lights import DIM_KEY
    from ..looks.recipes import get_look
    from .splat.engine import ensure_registered, unsupported

    why = unsupported(scene, get_look(args.look), [ob.get(DIM_KEY) for ob in points])
    if why is None:
        ensure_registered()
        return "SPLAT"
    samples = args.samples if args.samples is not None else "the look's"
    print(f"{PROG}: the splat engine draws glowing looks on flat films, not {why}: "
          f"rendering with Cycles ({samples} samples)", flush=True)
    return "CYCLES"


def workbench_depth_shading(scene) -> None:
    """Workbench (previews): studio lighting with its soft shadow and cavity."""
    shading = scene.display.shading
    shading.light = "STUDIO"
    shading.show_shadows = True
    shading.show_cavity = True
    shading.cavity_type = "WORLD"
    scene.display.shadow_shift = 0.1
    scene.display.shadow_focus = 0.5
