"""Looks: world, points material, lights, render settings and compositor of a Flowreel film.

Each look lives in ``blend_templates/<name>.blend`` (built by ``blend_templates/build_looks.py``
from the recipes below, with Debian's Blender 3.4 so every Blender from 3.4 to 5.0 can read it).
A template holds:

- World ``flowreel_<name>`` (background colour),
- Material ``flowreel_<name>`` (the points material; it reads the per-point attribute
  ``flowreel_display`` that `addon.scene` writes),
- Collection ``flowreel_<name>_lights`` (may be empty),
- Scene ``flowreel_<name>_settings`` whose render / colour-management settings are the look's.

`apply_look` appends these (``bpy.data.libraries.load``), copies the settings listed in
`SETTINGS` from the template scene onto the target scene and deletes the template scene again.
The compositor is NOT taken from the .blend: 5.0 replaced ``scene.node_tree`` by
``scene.compositing_node_group`` and turned most node properties into sockets, so a 3.4 compositor
does not survive the trip. It is rebuilt in code from `Look.glare` instead.

A missing template is rebuilt on the fly from the same recipe (same result, just slower and not
editable by artists); an unknown look name raises ValueError naming the choices.

Materials and worlds already in the file under the look's name are reused, so re-importing keeps
an artist's tweaks; delete them to get the template's version again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bpy

from .core.options import LOOKS as LOOK_NAMES

DISPLAY_ATTRIBUTE = "flowreel_display"  # per-point linear RGBA written by addon.scene
TAG = "flowreel_look"  # ID property on everything a look creates
TEMPLATES_ENV = "FLOWREEL_TEMPLATES"


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

assert tuple(LOOKS) == LOOK_NAMES, "addon.options.LOOKS and addon.looks.LOOKS must agree"


def look_names() -> tuple[str, ...]:
    return tuple(LOOKS)


def get_look(name: str) -> Look:
    """The recipe of `name`; ValueError naming the choices for anything else."""
    try:
        return LOOKS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown look {name!r}: choose one of {', '.join(LOOKS)}") from None


# --- templates on disk ----------------------------------------------------------------------------
def template_dirs() -> list[Path]:
    """Where templates are looked for: $FLOWREEL_TEMPLATES, the add-on's own folder (zip/extension
    builds copy them there), then the repository's blend_templates/."""
    here = Path(__file__).resolve().parent
    dirs = [here / "blend_templates", here.parent / "blend_templates"]
    env = os.environ.get(TEMPLATES_ENV)
    if env:
        dirs.insert(0, Path(env))
    return dirs


def template_path(name: str) -> Path | None:
    """Path of `<name>.blend`, or None when no template folder has it."""
    get_look(name)
    for d in template_dirs():
        p = d / f"{name}.blend"
        if p.is_file():
            return p
    return None


# --- building (used by blend_templates/build_looks.py and as the fallback) ------------------------
def _datablock_name(name: str) -> str:
    return f"flowreel_{name}"


def _socket(node, *names: str):
    """First input socket among `names` (3.4 says 'Fac' where 4.x says 'Factor')."""
    for n in names:
        if n in node.inputs:
            return node.inputs[n]
    raise KeyError(f"{node.bl_idname} has none of the inputs {names}")


def _ensure_nodes(idb) -> None:
    """Give a new material/world its node tree: 3.x-4.x need `use_nodes = True`; 5.0 always has one
    (and deprecates the flag, so it is not touched there)."""
    if idb.node_tree is None:
        idb.use_nodes = True


def build_material(look: Look) -> bpy.types.Material:
    """Points material: Attribute(flowreel_display) [-> lift dark colours] -> Hue/Saturation -> Emission or Diffuse."""
    mat = bpy.data.materials.new(_datablock_name(look.name))
    _ensure_nodes(mat)
    mat[TAG] = look.name
    mat.diffuse_color = (*look.workbench_color, 1.0)  # Workbench and the viewport's solid mode
    nt = mat.node_tree
    nt.nodes.clear()
    attr = nt.nodes.new("ShaderNodeAttribute")
    attr.attribute_name = DISPLAY_ATTRIBUTE
    hsv = nt.nodes.new("ShaderNodeHueSaturation")
    hsv.inputs["Saturation"].default_value = look.saturation
    hsv.inputs["Value"].default_value = look.value
    out = nt.nodes.new("ShaderNodeOutputMaterial")
    if look.shader == "EMISSION":
        shader = nt.nodes.new("ShaderNodeEmission")
        shader.inputs["Strength"].default_value = look.strength
        nt.links.new(shader.outputs["Emission"], out.inputs["Surface"])
    else:
        shader = nt.nodes.new("ShaderNodeBsdfDiffuse")
        nt.links.new(shader.outputs["BSDF"], out.inputs["Surface"])
    chain = [attr]
    color = attr.outputs["Color"]
    if look.lift_below > 0:
        # factor = clamp(luminance / lift_below): 0 for black -> the look's colour, 1 -> the display colour.
        bw = nt.nodes.new("ShaderNodeRGBToBW")
        fac = nt.nodes.new("ShaderNodeMath")
        fac.operation = "DIVIDE"
        fac.use_clamp = True
        fac.inputs[1].default_value = look.lift_below
        mix = nt.nodes.new("ShaderNodeMix")  # 3.4+ (the old MixRGB node is legacy)
        mix.data_type = "RGBA"
        _by_id(mix.inputs, "A_Color").default_value = (*look.workbench_color, 1.0)
        nt.links.new(color, bw.inputs["Color"])
        nt.links.new(bw.outputs[0], fac.inputs[0])
        nt.links.new(fac.outputs[0], _by_id(mix.inputs, "Factor_Float"))
        nt.links.new(color, _by_id(mix.inputs, "B_Color"))
        color = _by_id(mix.outputs, "Result_Color")
        chain += [bw, fac, mix]
    nt.links.new(color, hsv.inputs["Color"])
    nt.links.new(hsv.outputs["Color"], shader.inputs["Color"])
    for i, node in enumerate((*chain, hsv, shader, out)):
        node.location = (-1000 + 220 * i, 0)
    return mat


def _by_id(sockets, identifier: str):
    """A socket by identifier (the Mix node has several sockets called 'A')."""
    return next(s for s in sockets if s.identifier == identifier)


def build_world(look: Look) -> bpy.types.World:
    world = bpy.data.worlds.new(_datablock_name(look.name))
    world[TAG] = look.name
    world.color = look.background  # Workbench background and the viewport
    _ensure_nodes(world)
    bg = world.node_tree.nodes.get("Background") or world.node_tree.nodes.new("ShaderNodeBackground")
    bg.inputs["Color"].default_value = (*look.background, 1.0)
    bg.inputs["Strength"].default_value = look.strength if look.shader == "DIFFUSE" else 1.0
    return world


def build_lights(look: Look) -> bpy.types.Collection:
    coll = bpy.data.collections.new(f"{_datablock_name(look.name)}_lights")
    coll[TAG] = look.name
    if look.sun > 0:
        light = bpy.data.lights.new(f"{_datablock_name(look.name)}_sun", "SUN")
        light.energy = look.sun
        light.angle = 0.5  # soft shadows between touching points
        obj = bpy.data.objects.new(light.name, light)
        obj.rotation_euler = (0.6, -0.4, 0.3)
        coll.objects.link(obj)
    return coll


def set_path(owner: Any, path: str, value: Any) -> bool:
    """Set `owner.<path>` = value; False when this Blender lacks the property or the value."""
    *parents, attr = path.split(".")
    try:
        for p in parents:
            owner = getattr(owner, p)
        if not hasattr(owner, attr):
            return False
        setattr(owner, attr, value)
    except (AttributeError, TypeError, ValueError):
        return False
    return True


def get_path(owner: Any, path: str) -> Any:
    for p in path.split("."):
        owner = getattr(owner, p)
    return owner


def build_settings_scene(look: Look) -> bpy.types.Scene:
    """A scene that only carries the look's render settings (and its world and lights)."""
    scene = bpy.data.scenes.new(f"{_datablock_name(look.name)}_settings")
    scene[TAG] = look.name
    for path, value in look.settings.items():
        set_path(scene, path, value)
    return scene


def build_look(look: Look) -> tuple[bpy.types.Material, bpy.types.World, bpy.types.Collection, bpy.types.Scene]:
    """Create the look's datablocks in the current file (all tagged with the look's name)."""
    mat = build_material(look)
    world = build_world(look)
    lights = build_lights(look)
    scene = build_settings_scene(look)
    scene.world = world
    scene.collection.children.link(lights)
    return mat, world, lights, scene


def write_template(name: str, path: str | os.PathLike) -> Path:
    """Build look `name` and write it as a .blend holding only its datablocks (atomic rename)."""
    look = get_look(name)
    mat, world, lights, scene = build_look(look)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial.blend")
    try:
        bpy.data.libraries.write(str(tmp), {mat, world, lights, scene}, fake_user=True, compress=True)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
        bpy.data.scenes.remove(scene)
        for ob in list(lights.objects):
            data = ob.data
            bpy.data.objects.remove(ob)
            bpy.data.lights.remove(data)
        bpy.data.collections.remove(lights)
        bpy.data.worlds.remove(world)
        bpy.data.materials.remove(mat)
    return path


# --- applying -------------------------------------------------------------------------------------
def _existing(collection, name: str, look: str):
    item = collection.get(name)
    return item if item is not None and item.get(TAG) == look else None


def _load_template(look: Look) -> tuple[bpy.types.Material, bpy.types.World, bpy.types.Collection, bpy.types.Scene]:
    """Append the look's datablocks from its template (or build them when there is none)."""
    base = _datablock_name(look.name)
    path = template_path(look.name)
    if path is None:
        return build_look(look)
    want = {
        "materials": [base],
        "worlds": [base],
        "collections": [f"{base}_lights"],
        "scenes": [f"{base}_settings"],
    }
    try:
        with bpy.data.libraries.load(str(path), link=False) as (src, dst):
            for kind, names in want.items():
                missing = [n for n in names if n not in getattr(src, kind)]
                if missing:
                    raise ValueError(f"look template {path} lacks {kind} {missing}: rebuild it with "
                                     "`blender -b --factory-startup --python blend_templates/build_looks.py`")
                setattr(dst, kind, names)
    except OSError as e:
        raise ValueError(f"look template {path} cannot be read ({e}); rebuild it with build_looks.py") from None
    mat, world, lights, scene = dst.materials[0], dst.worlds[0], dst.collections[0], dst.scenes[0]
    for idb in (mat, world, lights):
        idb.use_fake_user = False
    return mat, world, lights, scene


def apply_look(scene: bpy.types.Scene, name: str) -> bpy.types.Material:
    """Give `scene` the look `name` (world, lights, render settings, compositor); return the points material.

    Raises ValueError naming the choices for an unknown look.
    """
    look = get_look(name)
    base = _datablock_name(look.name)
    mat = _existing(bpy.data.materials, base, look.name)
    world = _existing(bpy.data.worlds, base, look.name)
    lights = _existing(bpy.data.collections, f"{base}_lights", look.name)
    if mat is None or world is None or lights is None:
        new_mat, new_world, new_lights, tmpl = _load_template(look)
        settings = {p: get_path(tmpl, p) for p in SETTINGS if _has_path(tmpl, p)}
        bpy.data.scenes.remove(tmpl)
        # Keep what exists (artist tweaks); drop the duplicates the append just made.
        mat = mat or new_mat
        world = world or new_world
        lights = lights or new_lights
        for new, kept, coll in ((new_mat, mat, bpy.data.materials), (new_world, world, bpy.data.worlds)):
            if new is not kept:
                coll.remove(new)
        if new_lights is not lights:
            _remove_collection(new_lights)
    else:
        settings = dict(look.settings)
    # Lights of another look leave the scene; this look's join it.
    for child in list(scene.collection.children):
        if child.get(TAG) is not None and child is not lights:
            scene.collection.children.unlink(child)
    if lights.name not in scene.collection.children:
        scene.collection.children.link(lights)
    scene.world = world
    for path, value in settings.items():
        set_path(scene, path, value)
    set_denoise(scene, None)
    setup_compositor(scene, look)
    scene[TAG] = look.name
    return mat


def set_denoise(scene: bpy.types.Scene, enabled: bool | None) -> bool:
    """Cycles denoising: None = on where this build has OpenImageDenoise (Debian's 3.4 has not, and
    rendering with it switched on fails there). Returns the state set. Raises ValueError when
    denoising is forced on without OIDN."""
    from .compat import oidn_available

    have = oidn_available()
    if enabled and not have:
        raise ValueError("denoising needs OpenImageDenoise, which this Blender build lacks (use --denoise off)")
    on = have if enabled is None else bool(enabled)
    cycles = getattr(scene, "cycles", None)
    if cycles is not None:
        cycles.use_denoising = on
        cycles.use_preview_denoising = False
        if on:
            set_path(cycles, "denoiser", "OPENIMAGEDENOISE")
    return on


def _has_path(owner: Any, path: str) -> bool:
    try:
        get_path(owner, path)
    except AttributeError:
        return False
    return True


def _remove_collection(coll: bpy.types.Collection) -> None:
    for ob in list(coll.objects):
        data = ob.data
        bpy.data.objects.remove(ob)
        if data is not None and data.users == 0:
            bpy.data.lights.remove(data)
    bpy.data.collections.remove(coll)


# --- compositor -----------------------------------------------------------------------------------
COMPOSITOR_NAME = "Flowreel Compositor"


def _set_node(node, prop: str, socket: str, value: Any) -> None:
    """Set a node option that is a property in 3.x/4.x and an input socket in 5.0."""
    if hasattr(node, prop):
        setattr(node, prop, value)
    elif socket in node.inputs:
        node.inputs[socket].default_value = value


def setup_compositor(scene: bpy.types.Scene, look: Look) -> None:
    """Render Layers -> (Glare) -> output, or no compositing for looks without glare."""
    if hasattr(scene, "compositing_node_group"):  # 5.0+: the compositor is a node group asset
        old = scene.compositing_node_group
        if look.glare is None:
            scene.compositing_node_group = None
        else:
            tree = bpy.data.node_groups.new(COMPOSITOR_NAME, "CompositorNodeTree")
            tree.interface.new_socket(name="Image", in_out="OUTPUT", socket_type="NodeSocketColor")
            out = tree.nodes.new("NodeGroupOutput")
            _glare_chain(tree, look.glare, out.inputs[0])
            scene.compositing_node_group = tree
        if old is not None and old.name.startswith(COMPOSITOR_NAME) and old.users == 0:
            bpy.data.node_groups.remove(old)
        return
    # 3.x - 4.x: the scene's embedded node tree.
    scene.use_nodes = look.glare is not None
    if look.glare is None:
        return
    tree = scene.node_tree
    tree.nodes.clear()
    out = tree.nodes.new("CompositorNodeComposite")
    _glare_chain(tree, look.glare, out.inputs["Image"])


def _glare_chain(tree, glare: Glare, target) -> None:
    rl = tree.nodes.new("CompositorNodeRLayers")
    node = tree.nodes.new("CompositorNodeGlare")
    if hasattr(node, "glare_type"):  # 3.x - 4.4: properties
        kinds = node.bl_rna.properties["glare_type"].enum_items.keys()
        if "BLOOM" in kinds:
            node.glare_type = "BLOOM"
            node.size = max(1, min(9, round(9 * glare.size)))
        else:
            node.glare_type = "FOG_GLOW"
            node.size = glare.size_legacy
        node.quality = "HIGH"
        node.threshold = glare.threshold
        node.mix = max(-1.0, min(1.0, glare.strength - 1.0))
    else:  # 4.5+/5.0: sockets
        node.inputs["Type"].default_value = "Bloom"
        node.inputs["Quality"].default_value = "High"
        _set_node(node, "threshold", "Threshold", glare.threshold)
        _set_node(node, "size", "Size", glare.size)
        _set_node(node, "strength", "Strength", glare.strength)
        _set_node(node, "saturation", "Saturation", glare.saturation)
    tree.links.new(rl.outputs["Image"], node.inputs["Image"])
    tree.links.new(node.outputs["Image"], target)
    rl.location, node.location, target.node.location = (-400, 0), (-100, 0), (200, 0)
