"""Make examples/monkey.ply, the bundled 3-D sample: Blender's monkey, written by the add-on's own
"Export as Flowreel target" code, so the sample is exactly what a user gets from Blender.

    python examples/make_monkey.py      # needs the bpy module (the dev install has it)

One level of subdivision (smooth enough to read as a head at 60k particles, about 2 000 vertices), and
vertex colours by height, warm at the chin to cool at the brow, so the film shows where particles land.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def main(out: Path = HERE / "monkey.ply") -> Path:
    import bpy

    from flowreel.addon.ui import export_target

    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.mesh.primitive_monkey_add(size=2.0)
    obj = bpy.context.active_object
    obj.modifiers.new("subdivision", "SUBSURF").levels = 1
    bpy.ops.object.shade_smooth()
    tm = export_target.target_mesh(obj, bpy.context.evaluated_depsgraph_get())
    # Colours by height (a gradient in sRGB), on the evaluated vertices, so no colour attribute is needed.
    z = tm.vertices[:, 2]
    u = ((z - z.min()) / max(1e-9, float(np.ptp(z))))[:, None]
    low, high = np.array([255, 150, 40]), np.array([90, 170, 255])
    rgb = np.round((1 - u) * low + u * high).astype(np.uint8)
    tm.colors = np.c_[rgb, np.full(len(rgb), 255, np.uint8)]
    out.write_bytes(export_target.ply_bytes(tm, comment="Flowreel sample: Blender's monkey"))
    return out


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "monkey.ply"))
