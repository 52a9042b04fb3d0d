"""Make a word in Blender the way a user would, for the README's 3-D section: the Text tool's "FLOW",
extruded, converted to a mesh and written by Blender's own File > Export > Wavefront (.obj) with its
defaults (Up = Y, Forward = -Z). The word lies flat, as Blender's Text makes it; Flowreel reads the OBJ
y up and ends the film on the word's front (its largest face, the top), so it reads.

    python examples/make_word.py out/word.obj      # needs the bpy module (the dev install has it)
    trainer movie out/word.obj -o out/word.mp4 --quality draft --gif
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(out: Path) -> Path:
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.object.text_add()
    text = bpy.context.active_object
    text.data.body = "FLOW"
    text.data.extrude = 0.12
    text.data.align_x = "CENTER"
    bpy.ops.object.convert(target="MESH")
    out.parent.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.obj_export(filepath=str(out))  # the exporter's defaults, as File > Export gives them
    return out


if __name__ == "__main__":
    print(main(Path(sys.argv[1] if len(sys.argv) > 1 else "out/word.obj")))
