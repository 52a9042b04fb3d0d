"""Build the Flowreel scene from a trajectory file: points object, point cache, timing, camera, look.

Order matters for "the scene is left as it was": the file and options are validated and the PC2
cache is written (one streaming pass that also rejects NaN/inf) BEFORE anything in Blender is
touched; the Blender part then runs inside a rollback guard that removes every datablock it made
and restores the scene settings it changed if any step fails.

The points stream from disk: a mesh with N vertices + a Mesh Cache modifier (PC2, custom play mode,
keyed `eval_frame`) + a Geometry Nodes modifier (Mesh to Points -> Set Material). Nothing runs
per frame in Python, so a saved .blend renders with plain `blender -b scene.blend -a`.
"""

from __future__ import annotations

import colorsys
import hashlib
import math
import os
import tempfile
from collections.abc import Callable

import bpy
import numpy as np

from .. import compat
from ..camera import rig as camera
from ..camera import support as shape_support
from ..core import sequence, timing, trajformat
from ..core.errors import FlowreelError
from ..core.options import SceneOptions
from ..core.trajformat import TrajectoryError
from ..looks import lights
from ..looks.apply import apply_look
from ..render import alpha_frames
from . import film_timing, key_colors, life, pointcache, trails

CACHE_DIR_DEFAULT = "//flowreel_cache"
CACHE_MOD = "Flowreel Cache"
POINTS_MOD = "Flowreel Points"
RADIUS_INPUT = "Radius"
_ID_COLLECTIONS = ("objects", "meshes", "materials", "node_groups", "cameras", "collections", "actions", "scenes",
                   "worlds", "lights", "images", "textures")

__all__ = ["SceneError", "TrajectoryError", "build_scene", "subset_indices", "auto_radius", "resolve_cache_dir"]


class SceneError(FlowreelError, ValueError):
    """The scene cannot be built (e.g. the cache folder is not writable); the message is one line."""


def subset_indices(n: int, max_particles: int, seed: int) -> np.ndarray | None:
    """Sorted indices of the imported particles (seeded random subset), or None for all of them."""
    if max_particles <= 0 or max_particles >= n:
        return None
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=max_particles, replace=False))


COVER = 3.0  # disks per point of ink on average: 1 - exp(-3) = 95 % of a stroke's area is covered


def auto_radius(extent: list[float], n: int, end: np.ndarray | None = None, front: str | None = None) -> float:
    """Radius that makes n points read as a solid image without blobbing.

    The image box of area A holds n points, i.e. one per cell of side s = sqrt(A / n). The flow
    packs particles into the image's inked part (usually a fraction of the box), so radius s / 2
    (disks just touching on a uniform grid) overlaps there: solid, yet each point stays a point.

    That holds while the ink covers less than about a quarter of the box. Points land at random, so
    a stroke of area a holding n points is covered to 1 - exp(-n pi r^2 / a); a picture inked over
    half its box would come out speckled at s / 2. Given the end positions `end` [n, >=2], the ink
    area is estimated from the cells they occupy and the radius grows to cover it to COVER.
    """
    if len(extent) == 6:  # a 3-D shape: its silhouette on screen, not a plane, must read as solid
        from .radius3d import auto_radius_3d

        return auto_radius_3d(extent, n, end, front)  # seen from the shape's front (camera.film_front)
    area = (extent[1] - extent[0]) * (extent[3] - extent[2])
    diag = math.hypot(extent[1] - extent[0], extent[3] - extent[2])
    r = 0.5 * math.sqrt(area / max(1, n))
    if end is not None and len(end) >= 64:
        r = max(r, math.sqrt(COVER * ink_area(extent, end) / (math.pi * len(end))))
    return float(min(max(r, 1e-4 * diag), 0.02 * diag))


def ink_area(extent: list[float], end: np.ndarray) -> float:
    """Area of the picture's box that the end positions occupy: cells holding at least one point, with
    about 16 points a cell where the whole box is inked (so an inked cell is rarely empty by chance)."""
    w, h = extent[1] - extent[0], extent[3] - extent[2]
    cells = max(16, len(end) // 16)
    nx = max(4, int(round(math.sqrt(cells * w / h))))
    ny = max(4, int(round(cells / nx)))
    box = ((extent[0], extent[1]), (extent[2], extent[3]))
    hist, _, _ = np.histogram2d(end[:, 0], end[:, 1], bins=(nx, ny), range=box)
    return float((hist > 0).mean() * w * h)


def resolve_cache_dir(opts: SceneOptions, traj_path: str) -> tuple[str, bool]:
    """(absolute cache folder, store as `//` relative path?).

    `//` paths are relative to the saved .blend (portable to a render farm with its cache folder);
    with an unsaved .blend they are taken beside the trajectory file and stored absolute.
    """
    d = opts.cache_dir or CACHE_DIR_DEFAULT
    if d.startswith("//"):
        if bpy.data.filepath:
            return os.path.normpath(bpy.path.abspath(d)), True
        return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(traj_path)), d[2:])), False
    return os.path.abspath(os.path.expanduser(d)), False


def _ensure_writable(folder: str) -> None:
    try:
        os.makedirs(folder, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise SceneError(f"cache folder {folder} is not writable ({e.strerror or type(e).__name__})") from None


def _cache_name(traj_path: str, n: int, seed: int, subset: bool) -> str:
    """Deterministic name: the same file + subset gives the same cache (safe to overwrite)."""
    st = os.stat(traj_path)
    key = f"{os.path.abspath(traj_path)}|{st.st_size}|{st.st_mtime_ns}|{n}|{seed if subset else 0}"
    stem = os.path.splitext(os.path.basename(traj_path))[0]
    return f"{stem}-{hashlib.sha1(key.encode()).hexdigest()[:10]}.pc2"


def _srgb_to_linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def display_colors(opts: SceneOptions, colors: np.ndarray | None, start: np.ndarray) -> np.ndarray:
    """float32 [n, 4] linear RGBA for the chosen colour mode (what looks' materials read)."""
    n = len(start)
    if opts.color_mode == "SINGLE":
        return np.tile(np.asarray(opts.color, dtype=np.float32), (n, 1))
    if opts.color_mode == "GRADIENT":
        # Hue sweeps along the diagonal of the start (noise) positions: neighbours at t = 0 share a
        # colour, so the flow shows as coloured streams mixing into the image.
        u = start[:, 0] + start[:, 1]
        lo, hi = (np.percentile(u, 1), np.percentile(u, 99)) if n > 1 else (0.0, 1.0)
        u = np.clip((u - lo) / max(hi - lo, 1e-9), 0.0, 1.0)
        hues = np.linspace(0.0, 0.75, 256)
        table = np.array([colorsys.hsv_to_rgb(h, 0.85, 1.0) for h in hues], dtype=np.float64)
        rgb = table[(u * 255).astype(np.int64)]
        out = np.ones((n, 4), dtype=np.float32)
        out[:, :3] = _srgb_to_linear(rgb)
        return out
    if colors is not None and is_monochrome(colors):
        # A black-on-white (or any grey) picture carries shape, not colour: one ink for every point,
        # so anti-aliased grey edges do not come out as a second colour. Black lets each look choose
        # its ink (emission looks lift black to their own colour; ink stays dark on paper).
        out = np.zeros((n, 4), dtype=np.float32)
        out[:, 3] = 1.0
        return out
    return image_colors(colors, n)


def is_monochrome(colors: np.ndarray, spread: int = 24) -> bool:
    """True when (nearly) every colour is a grey: max - min of R, G, B within `spread` of 255."""
    rgb = colors[:, :3].astype(np.int16)
    return bool(np.percentile(rgb.max(axis=1) - rgb.min(axis=1), 99) <= spread)


def image_colors(colors: np.ndarray | None, n: int = 0) -> np.ndarray:
    """uint8 sRGB RGBA -> float32 linear RGBA (white when the file has no colours)."""
    if colors is None:
        return np.ones((n, 4), dtype=np.float32)
    c = colors.astype(np.float64) / 255.0
    out = np.empty(c.shape, dtype=np.float32)
    out[:, :3] = _srgb_to_linear(c[:, :3])
    out[:, 3] = c[:, 3]
    return out


class _Rollback:
    """Remember the datablocks and scene settings before building; undo everything on failure."""

    def __init__(self, scene: bpy.types.Scene):
        self.scene = scene
        self.before = {name: {i.as_pointer() for i in getattr(bpy.data, name)} for name in _ID_COLLECTIONS}
        r = scene.render
        self.settings = (scene.frame_start, scene.frame_end, scene.frame_current, r.fps, r.fps_base,
                         r.resolution_x, r.resolution_y, r.resolution_percentage, r.use_motion_blur, r.engine)
        self.camera = scene.camera
        self.world = scene.world

    def undo(self) -> None:
        for name in _ID_COLLECTIONS:  # objects first, so data blocks lose their users
            coll = getattr(bpy.data, name)
            for item in [i for i in coll if i.as_pointer() not in self.before[name]]:
                try:
                    coll.remove(item)
                except (ReferenceError, RuntimeError):
                    pass
        s, r = self.scene, self.scene.render
        (s.frame_start, s.frame_end, s.frame_current, r.fps, r.fps_base, r.resolution_x, r.resolution_y,
         r.resolution_percentage, r.use_motion_blur, r.engine) = self.settings
        s.camera = self.camera
        s.world = self.world


def _points_node_group(radius: float, material: bpy.types.Material) -> tuple[bpy.types.NodeTree, str]:
    """Geometry Nodes: mesh vertices -> points with `Radius` (modifier input) -> Set Material."""
    ng = bpy.data.node_groups.new("Flowreel Points", "GeometryNodeTree")
    compat.new_group_socket(ng, "Geometry", "INPUT", "NodeSocketGeometry")
    rad = compat.new_group_socket(ng, RADIUS_INPUT, "INPUT", "NodeSocketFloat")
    compat.set_socket_range(rad, radius, 0.0, 1e6)
    compat.new_group_socket(ng, "Geometry", "OUTPUT", "NodeSocketGeometry")
    gin = ng.nodes.new("NodeGroupInput")
    gout = ng.nodes.new("NodeGroupOutput")
    to_points = ng.nodes.new("GeometryNodeMeshToPoints")
    set_mat = ng.nodes.new("GeometryNodeSetMaterial")
    set_mat.inputs["Material"].default_value = material
    gin.location, to_points.location, set_mat.location, gout.location = (-400, 0), (-150, 0), (100, 0), (350, 0)
    ng.links.new(gin.outputs[0], to_points.inputs["Mesh"])
    ng.links.new(gin.outputs[1], to_points.inputs["Radius"])
    ng.links.new(to_points.outputs["Points"], set_mat.inputs["Geometry"])
    ng.links.new(set_mat.outputs["Geometry"], gout.inputs[0])
    return ng, rad.identifier


def _add_attribute(mesh: bpy.types.Mesh, name: str, kind: str, values: np.ndarray) -> None:
    attr = mesh.attributes.new(name, kind, "POINT")
    field = {"FLOAT_COLOR": "color", "FLOAT_VECTOR": "vector", "FLOAT": "value", "INT": "value"}[kind]
    dtype = np.int32 if kind == "INT" else np.float32
    attr.data.foreach_set(field, np.ascontiguousarray(values, dtype=dtype).ravel())


def build_scene(
    scene: bpy.types.Scene,
    traj_path: str,
    opts: SceneOptions,
    progress: Callable[[float], None] | None = None,
) -> bpy.types.Object:
    """Import `traj_path` into `scene`; returns the points object. Raises TrajectoryError / SceneError /
    ValueError with one-line messages, leaving the scene as it was."""
    opts.check()
    traj_path = os.path.abspath(bpy.path.abspath(os.fspath(traj_path)))
    name = os.path.basename(traj_path)
    traj = trajformat.read(traj_path, mmap=True, check_finite=False)  # finite check: in the cache pass
    opts = sequence.resolve_file(opts, traj)  # seconds of every hold and move (a sequence's keys)
    film_keys = traj.keys
    n_all, n_samples = traj.n_particles, traj.n_frames
    idx = subset_indices(n_all, opts.max_particles, opts.seed)
    n = n_all if idx is None else len(idx)

    folder, relative = resolve_cache_dir(opts, traj_path)
    made_folder = not os.path.isdir(folder)
    _ensure_writable(folder)
    cache_path = os.path.join(folder, _cache_name(traj_path, n, opts.seed, idx is not None))
    cache_existed = os.path.exists(cache_path)
    try:
        info = pointcache.write_pc2(traj, cache_path, idx, progress=progress, name=name)
    except BaseException:
        _remove_if_empty(folder, made_folder)  # a rejected file leaves no empty cache folder behind
        raise
    # The cache sample of each key: its frame, or where its time fell on the grid uneven times were resampled to.
    samples = [float(traj.times[k["index"]]) * (n_samples - 1) if info.resampled else int(k["index"])
               for k in film_keys]
    colors = None if traj.colors is None else np.asarray(traj.colors if idx is None else traj.colors[idx])
    kc = None if traj.key_colors is None else (traj.key_colors if idx is None else traj.key_colors[:, idx])
    per_key = key_colors.per_key_colors(opts, kc, info.start, display_colors)
    del kc
    dim = traj.dim
    shape_framed = dim == 3 and opts.framing == "PICTURE"
    end = None
    if opts.radius <= 0 or shape_framed:  # the end frame: where the ink is (one frame of the memory map)
        end = np.asarray(traj.positions[-1] if idx is None else traj.positions[-1][idx])
    front = camera.film_front(opts, traj.meta, traj.extent) if dim == 3 else None  # where a 3-D film ends
    radius = opts.radius if opts.radius > 0 else auto_radius(traj.extent, n, end, front)
    # A 3-D film's camera frames the shape's end frame, not its box: its support points are all it needs.
    support = shape_support.support_points(end) if shape_framed else None
    del end
    extent = [float(v) for v in traj.extent]
    del traj  # drop the memory map before Blender allocates the mesh

    guard = _Rollback(scene)
    try:
        coll = bpy.data.collections.new("Flowreel")
        scene.collection.children.link(coll)
        mesh = bpy.data.meshes.new("Flowreel Points")
        mesh.vertices.add(n)
        mesh.vertices.foreach_set("co", info.start.ravel())
        rng = np.random.default_rng(opts.seed + 1)
        _add_attribute(mesh, "flowreel_color", "FLOAT_COLOR", image_colors(colors, n))
        _add_attribute(mesh, "flowreel_start", "FLOAT_VECTOR", info.start)
        _add_attribute(mesh, "flowreel_id", "FLOAT", rng.random(n, dtype=np.float64).astype(np.float32))
        _add_attribute(mesh, "flowreel_display", "FLOAT_COLOR", display_colors(opts, colors, info.start))
        _add_attribute(mesh, "flowreel_index", "INT", np.arange(n) if idx is None else idx)
        mesh.update()
        obj = bpy.data.objects.new("Flowreel Points", mesh)
        coll.objects.link(obj)
        obj["flowreel_source"] = traj_path
        obj["flowreel_samples"] = n_samples
        obj[lights.DIM_KEY] = dim

        cache = obj.modifiers.new(CACHE_MOD, "MESH_CACHE")
        cache.cache_format = "PC2"
        cache.filepath = bpy.path.relpath(cache_path) if relative else cache_path
        cache.play_mode = "CUSTOM"
        cache.time_mode = "FRAME"
        cache.interpolation = "LINEAR"
        cache.forward_axis, cache.up_axis = "POS_Y", "POS_Z"  # identity: cache xyz = object xyz
        fc = compat.ensure_fcurve(obj, f'modifiers["{CACHE_MOD}"].eval_frame', 0, "Flowreel Timing")
        timing.key_fcurve(fc, opts, samples=samples)  # key k at its cache sample

        material = apply_look(scene, opts.look)
        if dim == 3:
            material = lights.material_3d(material, opts.look)
        ng, radius_key = _points_node_group(radius, material)
        geo = obj.modifiers.new(POINTS_MOD, "NODES")
        geo.node_group = ng
        geo[radius_key] = radius
        obj.data.materials.append(material)
        key_input = key_colors.install(obj, geo, per_key, opts, "Flowreel Timing") if per_key is not None else ""
        key_input = life.install(obj, geo, opts, life.start_colors(opts, info.start, display_colors), key_input,
                                 "Flowreel Timing")  # colour and size over time
        film_timing.store(obj, opts, film_keys, samples, key_input)
        trails.add_trail(obj, POINTS_MOD, radius_key, radius, opts)  # after every F-curve it copies

        lay = timing.layout(opts)
        scene.frame_start, scene.frame_end = lay.start, lay.end
        scene.frame_current = lay.start
        scene.render.fps, scene.render.fps_base = opts.fps, 1.0
        scene.render.resolution_x, scene.render.resolution_y = opts.resolution
        scene.render.resolution_percentage = 100
        compat.set_motion_blur(scene, opts.motion_blur)
        cam = camera.setup_camera(scene, coll, info.bbox, radius, opts, extent, dim,
                                  key_extents=[k.get("extent") for k in film_keys], support=support, front=front)
        if dim == 3:
            lights.light_3d(scene, coll, cam, opts.look, camera.framed_size(info.bbox, extent, opts))
        alpha_frames.prepare_scene(scene, opts)  # a transparent film for --background
    except BaseException as e:
        guard.undo()
        if not cache_existed and os.path.exists(cache_path):
            os.unlink(cache_path)
        if isinstance(e, (FlowreelError, OSError, KeyboardInterrupt)):
            raise
        raise SceneError(f"{name}: building the scene failed ({type(e).__name__}: {e})") from e
    return obj


def _remove_if_empty(folder: str, made: bool) -> None:
    """Remove the cache folder this import created, if nothing is in it."""
    if made:
        try:
            os.rmdir(folder)
        except OSError:
            pass
