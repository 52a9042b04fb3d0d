"""Look templates on disk: ``<look>.blend`` files holding one look's datablocks.

A template holds World ``flowreel_<name>`` (background colour), Material ``flowreel_<name>`` (the
points material; it reads the per-point attribute ``flowreel_display`` that `addon.scene` writes),
Collection ``flowreel_<name>_lights`` (may be empty) and Scene ``flowreel_<name>_settings`` whose
render / colour-management settings are the look's. A missing template is built on the fly from
the same recipe (same result, just slower and not editable by artists).
"""

from __future__ import annotations

import os
from pathlib import Path

import bpy

from .datablocks import build_look, datablock_name
from .recipes import Look, LookError, get_look

TEMPLATES_ENV = "FLOWREEL_TEMPLATES"


def template_dirs() -> list[Path]:
    """Where templates are looked for: $FLOWREEL_TEMPLATES, the add-on's own folder (zip/extension
    builds copy them there), then the repository's blend_templates/."""
    here = Path(__file__).resolve().parent.parent  # the add-on's folder
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


def load_template(look: Look) -> tuple[bpy.types.Material, bpy.types.World, bpy.types.Collection, bpy.types.Scene]:
    """Append the look's datablocks from its template (or build them when there is none)."""
    base = datablock_name(look.name)
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
                    raise LookError(f"look template {path} lacks {kind} {missing}: rebuild it with "
                                     "`blender -b --factory-startup --python blend_templates/build_looks.py`")
                setattr(dst, kind, names)
    except OSError as e:
        raise LookError(f"look template {path} cannot be read ({e}); rebuild it with build_looks.py") from None
    mat, world, lights, scene = dst.materials[0], dst.worlds[0], dst.collections[0], dst.scenes[0]
    for idb in (mat, world, lights):
        idb.use_fake_user = False
    return mat, world, lights, scene
