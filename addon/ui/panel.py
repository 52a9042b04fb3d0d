"""View3D > Sidebar > Flowreel: Fit Picture (with progress and Cancel), settings, Import, and Blender's own
animation render."""

import bpy

from . import fit_ops
from .props import panel_rows


def _film_front(context) -> str | None:
    """The front the imported 3-D film resolved on (camera.FRONT_KEY on the camera's rig), else None."""
    from ..camera.rig import FRONT_KEY

    cam = context.scene.camera
    rig = cam.parent if cam is not None else None
    return rig.get(FRONT_KEY) if rig is not None else None


class VIEW3D_PT_flowreel(bpy.types.Panel):
    bl_label = "Flowreel"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Flowreel"

    def draw(self, context):
        s = context.scene.flowreel
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        fit_ops.draw(layout, context)
        layout.prop(s, "filepath")
        for heading, rows in panel_rows(s):  # the settings' sections: ui/props.py PANEL
            col = layout.column(heading=heading) if heading else layout
            for name in rows:
                col.prop(s, name)
                if name == "front":
                    chosen = _film_front(context)
                    if chosen:
                        col.label(text=f"This film's front: {chosen.upper()}", icon="VIEW_CAMERA")
        layout.operator("flowreel.import_settings", icon="IMPORT")
        op = layout.operator("render.render", text="Render Animation", icon="RENDER_ANIMATION")
        op.animation = True
        layout.operator("export_scene.flowreel_target", icon="EXPORT")
