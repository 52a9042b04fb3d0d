"""A film over something other than the look's own world: the scene's transparent film and each frame's alpha.

`prepare_scene` gives the scene a transparent film when SceneOptions.background asks for one. In
Blender's own renders a glowing look's compositor makes the glow's alpha (compositor.py, "glow");
the render script instead renders the glow over black and `frame_finisher` unmultiplies each frame
in display space, then lays it over the colour or picture (core/background.py has the reasons).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..core.background import TRANSPARENT, cover, over, parse_background, unmultiply, write_png
from ..core.errors import RenderError
from ..core.options import SceneOptions
from ..looks.compositor import setup_compositor
from ..looks.recipes import get_look

GLOW_KEY = "flowreel_glow_alpha"  # on the scene: frames come out as glow over black, to be unmultiplied


def prepare_scene(scene, opts: SceneOptions, for_script: bool = False) -> None:
    """Transparent film and the compositor's alpha when the options ask for a background; else the look's."""
    bg = parse_background(opts.background)
    look = get_look(opts.look)
    glow = bg.has_alpha and look.glare is not None and scene.render.use_compositing
    scene.render.film_transparent = bg.has_alpha
    setup_compositor(scene, look, ("opaque" if for_script else "glow") if glow else "none")
    scene[GLOW_KEY] = bool(glow and for_script)
    if bg.has_alpha:  # Blender's own Render Animation writes what the render script writes
        scene.render.image_settings.file_format = "PNG"
        scene.render.image_settings.color_mode = "RGBA"


def frame_finisher(bpy, scene, opts: SceneOptions) -> Callable[[Path], None] | None:
    """What turns a frame Blender wrote into the film's frame (in place), or None for the look's own world."""
    bg = parse_background(opts.background)
    if not bg.has_alpha:
        return None
    size = (scene.render.resolution_x, scene.render.resolution_y)
    under = None
    if bg.kind == "color":
        under = np.array(bg.color, dtype=np.uint8)
    elif bg.kind == "picture":
        under = cover(read_image(bpy, bg.path), *size)
    glow = bool(scene.get(GLOW_KEY, False))

    def finish(path: Path) -> None:
        pixels = read_image(bpy, path)
        rgba = unmultiply(pixels) if glow else pixels
        write_png(path, rgba if bg.kind == TRANSPARENT else over(rgba, under))

    return finish


def check_background(bpy, opts: SceneOptions) -> None:
    """RenderError (one line) when the background is a picture Blender cannot read."""
    bg = parse_background(opts.background)
    if bg.kind == "picture":
        read_image(bpy, bg.path)


def read_image(bpy, path: str | Path) -> np.ndarray:
    """Any picture Blender reads, as uint8 RGBA [H, W, 4] with rows top to bottom (its stored values:
    8-bit files come back byte for byte)."""
    try:
        img = bpy.data.images.load(str(path), check_existing=False)
    except RuntimeError as e:
        raise RenderError(f"{Path(path).name}: Blender cannot read this picture ({e})") from None
    try:
        w, h = img.size
        if w == 0 or h == 0:
            raise RenderError(f"{Path(path).name}: Blender cannot read this picture")
        px = np.empty(w * h * 4, dtype=np.float32)
        img.pixels.foreach_get(px)
        if img.is_float:  # 16-bit and HDR files load as linear light: back to sRGB values
            rgb = np.clip(px.reshape(-1, 4)[:, :3], 0.0, 1.0)
            px.reshape(-1, 4)[:, :3] = np.where(rgb <= 0.0031308, rgb * 12.92, 1.055 * rgb ** (1 / 2.4) - 0.055)
    finally:
        bpy.data.images.remove(img)
    px = px.reshape(h, w, 4)[::-1]
    np.clip(px, 0.0, 1.0, out=px)
    px *= 255.0
    px += 0.5
    return px.astype(np.uint8)  # rounded: truncating x + 0.5
