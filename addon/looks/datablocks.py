"""Building a look's datablocks from its recipe: points material, world, lights and a scene that
carries its render settings (used by blend_templates/build_looks.py and when a template is missing)."""

from __future__ import annotations

from typing import Any

import bpy

from .. import compat
from .recipes import Look

DISPLAY_ATTRIBUTE = "flowreel_display"  # per-point linear RGBA written by addon.scene
TAG = "flowreel_look"  # ID property on everything a look creates


def datablock_name(name: str) -> str:
    """The name of look `name`'s material and world (its lights and settings scene add a suffix)."""
    return f"flowreel_{name}"


def build_material(look: Look) -> bpy.types.Material:
    """Points material: Attribute(flowreel_display) [-> lift dark colours] -> Hue/Saturation -> Emission or Diffuse."""
    mat = bpy.data.materials.new(datablock_name(look.name))
    compat.ensure_node_tree(mat)
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
    world = bpy.data.worlds.new(datablock_name(look.name))
    world[TAG] = look.name
    world.color = look.background  # Workbench background and the viewport
    compat.ensure_node_tree(world)
    bg = world.node_tree.nodes.get("Background") or world.node_tree.nodes.new("ShaderNodeBackground")
    bg.inputs["Color"].default_value = (*look.background, 1.0)
    bg.inputs["Strength"].default_value = look.strength if look.shader == "DIFFUSE" else 1.0
    return world


def build_lights(look: Look) -> bpy.types.Collection:
    coll = bpy.data.collections.new(f"{datablock_name(look.name)}_lights")
    coll[TAG] = look.name
    if look.sun > 0:
        light = bpy.data.lights.new(f"{datablock_name(look.name)}_sun", "SUN")
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
    scene = bpy.data.scenes.new(f"{datablock_name(look.name)}_settings")
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


def has_path(owner: Any, path: str) -> bool:
    try:
        get_path(owner, path)
    except AttributeError:
        return False
    return True
