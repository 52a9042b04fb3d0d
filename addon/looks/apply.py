"""Giving a scene a look: append its template's datablocks, copy its render settings, set up its
denoising and compositor.

`apply_look` appends the datablocks (``bpy.data.libraries.load``), copies the settings listed in
`looks.SETTINGS` from the template scene onto the target scene and deletes the template scene
again. The compositor is NOT taken from the .blend: 5.0 replaced ``scene.node_tree`` by
``scene.compositing_node_group`` and turned most node properties into sockets, so a 3.4 compositor
does not survive the trip. It is rebuilt in code from `Look.glare` instead.

Materials and worlds already in the file under the look's name are reused, so re-importing keeps
an artist's tweaks; delete them to get the template's version again.
"""

from __future__ import annotations

import bpy

from .compositor import setup_compositor
from .datablocks import TAG, datablock_name, get_path, has_path, set_path
from .denoise import set_denoise
from .recipes import SETTINGS, get_look
from .templates import load_template


def _existing(collection, name: str, look: str):
    item = collection.get(name)
    return item if item is not None and item.get(TAG) == look else None


def apply_look(scene: bpy.types.Scene, name: str) -> bpy.types.Material:
    """Give `scene` the look `name` (world, lights, render settings, compositor); return the points material.

    Raises LookError naming the choices for an unknown look.
    """
    look = get_look(name)
    base = datablock_name(look.name)
    mat = _existing(bpy.data.materials, base, look.name)
    world = _existing(bpy.data.worlds, base, look.name)
    lights = _existing(bpy.data.collections, f"{base}_lights", look.name)
    if mat is None or world is None or lights is None:
        new_mat, new_world, new_lights, tmpl = load_template(look)
        settings = {p: get_path(tmpl, p) for p in SETTINGS if has_path(tmpl, p)}
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


def _remove_collection(coll: bpy.types.Collection) -> None:
    for ob in list(coll.objects):
        data = ob.data
        bpy.data.objects.remove(ob)
        if data is not None and data.users == 0:
            bpy.data.lights.remove(data)
    bpy.data.collections.remove(coll)
