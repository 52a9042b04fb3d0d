"""The splat engine in Blender: a render engine (`FLOWREEL_SPLAT`) that draws a frame's Flowreel
points with raster.py and hands Blender the image, so the look's compositor glow, the view transform
and the file output are Blender's own, as after a Cycles render.

It reads what Cycles would render: the evaluated point clouds of Flowreel's points (and their trail
ghosts), positions at the shutter's opening and closing when motion blur is on (the camera's too), radii
and the `flowreel_display` colours, through the look's material (shading.py). It draws glowing looks
on flat (2-D) films: `unsupported` names what it cannot draw (a lit look, a 3-D shape, depth of field),
and the render script then uses Cycles.
"""

from __future__ import annotations

import atexit
import math
from collections.abc import Iterable
from dataclasses import dataclass

import bpy
import numpy as np

from ... import compat
from ...core.errors import FlowreelError, report_bug
from ...looks.datablocks import DISPLAY_ATTRIBUTE, TAG
from ...looks.lights import DIM_KEY
from ...looks.recipes import Look, get_look
from .raster import Discs, draw
from .shading import emission

ENGINE_ID = "FLOWREEL_SPLAT"
SUPERSAMPLE = 2  # fine cells per pixel side (bench/RESULTS.md: 1 draws coarse edges, 3 buys little for 1.6-2x the time)


def unsupported(scene: bpy.types.Scene, look: Look, dims: Iterable[int | None]) -> str | None:
    """Why the splat engine cannot draw this scene as Cycles would, or None when it can. `dims`: each points
    object's (or its material's) DIM_KEY, 3 for a 3-D shape."""
    if look.shader != "EMISSION":
        return f"the {look.name} look (its points are lit, not glowing)"
    if 3 in dims:
        return "a 3-D shape (its points hide one another and are lit)"
    cam = scene.camera
    if cam is not None and cam.data.dof.use_dof:
        return "depth of field"
    return None


class FlowreelSplatEngine(bpy.types.RenderEngine):
    """Flowreel's glowing points without path tracing: Cycles' converged image of them, drawn directly."""

    bl_idname = ENGINE_ID
    bl_label = "Flowreel Splat"
    bl_use_postprocess = True  # the look's compositor glow runs on the result, as after Cycles
    bl_use_eevee_viewport = True  # the viewport draws with EEVEE (this engine renders frames only)

    def render(self, depsgraph) -> None:
        # An ERROR report makes the render fail (bpy.ops.render.render raises, no image is written), so a frame
        # that could not be drawn never passes for one.
        try:
            render_frame(self, depsgraph)
        except FlowreelError as e:
            self.report({"ERROR"}, str(e))
        except Exception as e:  # noqa: BLE001 - a bug: one line, its traceback in a file
            self.report({"ERROR"}, f"the splat engine failed: {report_bug(e, 'flowreel-splat')}")


_exit_hook = False


def ensure_registered() -> None:
    """Make the engine available (the render script does not register the whole add-on)."""
    global _exit_hook
    if not FlowreelSplatEngine.is_registered:
        bpy.utils.register_class(FlowreelSplatEngine)
    if compat.unregister_before_exit() and not _exit_hook:
        # As the add-on's own registration does (compat says why): a class still registered when the bpy
        # module shuts down hangs 4.5 at exit, and a reachable Python method crashes 4.2. atexit runs hooks
        # last-in first-out, so this one runs before the shutdown hook bpy installed on import.
        atexit.register(_unregister_at_exit)
        _exit_hook = True


def _unregister_at_exit() -> None:
    if FlowreelSplatEngine.is_registered:
        bpy.utils.unregister_class(FlowreelSplatEngine)
    if compat.drop_methods_at_exit() and "render" in vars(FlowreelSplatEngine):
        del FlowreelSplatEngine.render


def render_frame(engine: bpy.types.RenderEngine, depsgraph) -> None:
    scene = depsgraph.scene
    r = scene.render
    width, height = r.resolution_x * r.resolution_percentage // 100, r.resolution_y * r.resolution_percentage // 100
    frame, sub = scene.frame_current, scene.frame_subframe
    now = _clouds(depsgraph, scene.camera, width, height)
    if not now:
        raise FlowreelError("the splat engine found no Flowreel points to draw (it draws only those)")
    why = unsupported(scene, get_look(now[0].look), [c.dim for c in now])
    if why is not None:
        raise FlowreelError(f"the splat engine draws glowing looks on flat films, not {why}: render with Cycles")
    opening = closing = now
    if r.use_motion_blur:
        start, end = _shutter(scene)
        opening = _at(engine, depsgraph, frame + sub + start, width, height)
        closing = _at(engine, depsgraph, frame + sub + end, width, height)
        engine.frame_set(frame, sub)
    parts = []
    for i, cloud in enumerate(now):
        (xa, ya), (xb, yb) = _ends(opening, i, cloud), _ends(closing, i, cloud)
        parts.append((xa, ya, xb, yb, cloud.radius, emission(get_look(cloud.look), cloud.colors)))
    stack = [np.concatenate(p) for p in zip(*parts, strict=True)]
    rgb, alpha = draw(Discs(*stack), width, height, SUPERSAMPLE, r.filter_size)
    if not r.film_transparent:  # the world the camera sees behind the points (a glowing look's is unlit)
        rgb += (1.0 - alpha[..., None]) * _background(scene)
        alpha = np.ones_like(alpha)
    pixels = np.empty((height, width, 4), np.float32)
    pixels[..., :3], pixels[..., 3] = rgb, alpha
    result = engine.begin_result(0, 0, width, height)
    _set_rect(result.layers[0].passes["Combined"], pixels[::-1])  # Blender's rows run bottom to top
    engine.end_result(result)


@dataclass
class _Cloud:
    """One evaluated Flowreel point cloud as the camera sees it: centres and radii in pixels (radii and
    colours None where only the positions were read)."""

    x: np.ndarray
    y: np.ndarray
    radius: np.ndarray | None
    look: str
    dim: int
    colors: np.ndarray | None


def _shutter(scene) -> tuple[float, float]:
    """The shutter's opening and closing, in frames from the frame (Cycles' motion blur position)."""
    r = scene.render
    position = getattr(r, "motion_blur_position", None) or getattr(getattr(scene, "cycles", None),
                                                                    "motion_blur_position", "CENTER")
    length = r.motion_blur_shutter
    return {"START": (0.0, length), "END": (-length, 0.0)}.get(position, (-length / 2, length / 2))


def _background(scene) -> np.ndarray:
    """Linear RGB the camera sees where no point is: the world's Background node (colour x strength)."""
    world = scene.world
    if world is None:
        return np.zeros(3, np.float32)
    node = None
    # 5.0 worlds always use their nodes (and warn that `use_nodes` is going away); before, it is a switch.
    if world.node_tree is not None and (compat.VERSION >= (5, 0, 0) or world.use_nodes):
        node = next((n for n in world.node_tree.nodes if n.bl_idname == "ShaderNodeBackground"), None)
    if node is None or node.inputs["Color"].is_linked:
        return np.asarray(world.color, np.float32)
    return np.asarray(node.inputs["Color"].default_value[:3], np.float32) * node.inputs["Strength"].default_value


def _ends(frames: list[_Cloud], i: int, cloud: _Cloud) -> tuple[np.ndarray, np.ndarray]:
    """Positions of cloud `i` at a shutter end; the frame's own where that cloud's points differ in number."""
    if i < len(frames) and len(frames[i].x) == len(cloud.x):
        return frames[i].x, frames[i].y
    return cloud.x, cloud.y


def _at(engine, depsgraph, time: float, width: int, height: int) -> list[_Cloud]:
    """The clouds' places at `time` (a shutter end): positions only, radii and colours are the frame's."""
    whole = math.floor(time)
    engine.frame_set(whole, time - whole)
    return _clouds(depsgraph, depsgraph.scene.camera, width, height, positions_only=True)


def _clouds(depsgraph, camera, width: int, height: int, positions_only: bool = False) -> list[_Cloud]:
    """The evaluated point clouds whose material is a Flowreel look's, projected through the camera
    (`positions_only`: radius and colours are not read)."""
    if camera is None:
        raise FlowreelError("the scene has no camera")
    cam = camera.evaluated_get(depsgraph)
    r = depsgraph.scene.render
    lens = np.array(cam.calc_matrix_camera(depsgraph, x=width, y=height, scale_x=r.pixel_aspect_x,
                                           scale_y=r.pixel_aspect_y))
    proj = lens @ np.array(cam.matrix_world.inverted())
    out = []
    for inst in depsgraph.object_instances:
        ob = inst.object
        if ob.type != "POINTCLOUD" or not ob.data.materials or ob.data.materials[0] is None:
            continue
        mat = ob.data.materials[0]
        attrs = ob.data.attributes
        if mat.get(TAG) is None or DISPLAY_ATTRIBUTE not in attrs:
            continue
        n = len(ob.data.points)
        pos = _read(attrs["position"], "vector", n, 3)
        world = np.array(inst.matrix_world)
        clip = np.c_[pos, np.ones(n, np.float32)] @ (proj @ world).T
        w = clip[:, 3]
        front = w > 1e-6  # behind the camera: not drawn
        w = np.where(front, w, 1.0)
        x = (clip[:, 0] / w + 1.0) * (width / 2)
        y = (1.0 - clip[:, 1] / w) * (height / 2)
        cloud = _Cloud(x.astype(np.float32), y.astype(np.float32), None, mat[TAG], int(mat.get(DIM_KEY, 2)), None)
        if not positions_only:
            radius = _read(attrs["radius"], "value", n, 1)[:, 0] if "radius" in attrs else np.full(n, 0.01)
            scale = np.linalg.norm(world[:3, :3], axis=0).mean()  # the object's own scale
            cloud.radius = np.where(front, radius * scale * lens[0, 0] * (width / 2) / w, 0.0).astype(np.float32)
            cloud.colors = _read(attrs[DISPLAY_ATTRIBUTE], "color", n, 4)
        out.append(cloud)
    return out


def _read(attr, field: str, n: int, width: int) -> np.ndarray:
    values = np.empty(n * width, np.float32)
    attr.data.foreach_get(field, values)
    return values.reshape(n, width)


def _set_rect(render_pass, pixels: np.ndarray) -> None:
    """Hand Blender the pass's pixels: in one buffer copy where this Blender can, else row by row."""
    flat = np.ascontiguousarray(pixels, np.float32).reshape(-1)
    try:
        render_pass.rect.foreach_set(flat)
    except (AttributeError, TypeError):
        render_pass.rect = flat.reshape(-1, 4).tolist()
