"""Lighting a 3-D film in depth: a key and a rim light turning with the camera, a lit points material
for the glowing looks, and each engine's soft shadows / ambient occlusion.

Only for 3-D files. A picture lies on one plane seen face-on: a key light would light it evenly,
a rim light from behind would not reach its face, and the glowing looks' points are pure emission,
which no light changes. Leaving pictures alone keeps today's 2-D films pixel for pixel.

A shape's depth needs light that varies across it: the key (a soft sun from the camera's side, a
little to the upper left) shades the side facing away from it and lets points cast soft shadows on the
points behind them; the rim (a sun from behind, above) outlines the silhouette against the background.
Both are children of the camera rig, whose axes are the front view's (camera.rig_euler: local +Z
towards the camera, +Y the screen's up), so they turn with the orbit and the film ends lit from the
side the camera ends on: the key falls on the front faces at about 30 degrees and on the walls beside
them at 65 degrees or more, so a word's letter faces read brighter than their walls.

Glowing looks (EMISSION): their 3-D material keeps EMISSION_SHARE of the glow (the shadowed side
still glows in the look's colours) and adds a diffuse part of the same colour that the lights shade.
The ink look is already diffuse (lit by its sun and the paper-coloured world): the two lights join
it at lower strengths.
"""

from __future__ import annotations

import bpy
from mathutils import Vector

from .. import compat
from .datablocks import TAG
from .recipes import get_look

EMISSION_SHARE = 0.35  # glowing looks in 3-D: the part of the glow kept on the shadowed side
# (direction towards the light in the rig's frame: the front view's right, up, towards the camera; sun angle in rad)
KEY = ((-0.4, 0.3, 0.87), 0.14)  # the camera's side, upper left: a soft shadow (8 degrees wide)
RIM = ((0.35, 0.45, -0.82), 0.05)  # behind, above: a crisp outline
STRENGTH = {"EMISSION": (2.5, 4.0), "DIFFUSE": (0.8, 0.5)}  # (key, rim) in W/m^2
DIM_KEY = "flowreel_dim"  # custom property on the points object: 2 or 3


def material_3d(material: bpy.types.Material, look_name: str) -> bpy.types.Material:
    """The points material for a 3-D film: the look's own for diffuse looks; for glowing looks a copy
    `<material>_3d` whose glow is EMISSION_SHARE of the look's plus a lit diffuse of the same colour
    (reused when it exists, so an artist's tweaks survive a re-import)."""
    look = get_look(look_name)
    if look.shader != "EMISSION":
        return material
    name = f"{material.name}_3d"
    existing = bpy.data.materials.get(name)
    if existing is not None and existing.get(TAG) == look.name:
        return existing
    mat = material.copy()
    mat.name = name
    mat[TAG] = look.name
    mat[DIM_KEY] = 3
    nt = mat.node_tree
    emission = next(n for n in nt.nodes if n.bl_idname == "ShaderNodeEmission")
    out = next(n for n in nt.nodes if n.bl_idname == "ShaderNodeOutputMaterial")
    colour = emission.inputs["Color"].links[0].from_socket
    emission.inputs["Strength"].default_value = look.strength * EMISSION_SHARE
    diffuse = nt.nodes.new("ShaderNodeBsdfDiffuse")
    add = nt.nodes.new("ShaderNodeAddShader")
    nt.links.new(colour, diffuse.inputs["Color"])
    nt.links.new(emission.outputs["Emission"], add.inputs[0])
    nt.links.new(diffuse.outputs["BSDF"], add.inputs[1])
    nt.links.new(add.outputs["Shader"], out.inputs["Surface"])
    diffuse.location = (emission.location.x, emission.location.y - 200)
    add.location = (out.location.x, out.location.y)
    out.location = (out.location.x + 220, out.location.y)
    return mat


def _sun(name: str, direction: tuple[float, float, float], strength: float, angle: float,
         rig: bpy.types.Object, collection: bpy.types.Collection) -> bpy.types.Object:
    light = bpy.data.lights.new(name, "SUN")
    light.energy = strength
    light.angle = angle
    compat.light_soft_shadow(light)
    ob = bpy.data.objects.new(name, light)
    # A sun shines along its local -Z: point local +Z at the light's direction.
    ob.rotation_euler = Vector(direction).normalized().to_track_quat("Z", "Y").to_euler()
    collection.objects.link(ob)
    ob.parent = rig  # turns with the orbit (parent inverse stays identity)
    return ob


def light_3d(scene: bpy.types.Scene, collection: bpy.types.Collection, camera: bpy.types.Object,
             look_name: str, size: float) -> list[bpy.types.Object]:
    """Key and rim suns on the camera's rig, and EEVEE's AO and soft shadows over `size` (the framed
    box's diagonal). Returns the light objects."""
    look = get_look(look_name)
    rig = camera.parent
    key, rim = STRENGTH[look.shader]
    lights = [_sun("Flowreel Key", KEY[0], key, KEY[1], rig, collection),
              _sun("Flowreel Rim", RIM[0], rim, RIM[1], rig, collection)]
    compat.eevee_depth_shading(scene, 0.2 * size)
    return lights
