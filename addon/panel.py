"""View3D > Sidebar > Flowreel: Fit Picture (with progress and Cancel), settings, Import, and Blender's own
animation render."""

import bpy

from . import fit_ops


def _film_front(context) -> str | None:
    """The front the imported 3-D film resolved on (camera.FRONT_KEY on the camera's rig), else None."""
    from .camera import FRONT_KEY

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
        col = layout.column(heading="Particles")
        col.prop(s, "max_particles")
        col.prop(s, "radius")
        col.prop(s, "seed")
        col = layout.column(heading="Look")
        col.prop(s, "look")
        col.prop(s, "color_mode")
        if s.color_mode == "SINGLE":
            col.prop(s, "color")
        col.prop(s, "color_start_kind")
        if s.color_start_kind == "COLOR":
            col.prop(s, "color_start_color")
        col.prop(s, "size_start")
        col.prop(s, "size_end")
        col.prop(s, "trail")
        col.prop(s, "background_kind")
        if s.background_kind == "COLOR":
            col.prop(s, "background_color")
        elif s.background_kind == "PICTURE":
            col.prop(s, "background_picture")
        col = layout.column(heading="Timing")
        col.prop(s, "seconds")
        col.prop(s, "fps")
        col.prop(s, "hold_start")
        col.prop(s, "hold_end")
        col.prop(s, "hold_keys")
        col.prop(s, "easing")
        col.prop(s, "reverse")
        col.prop(s, "ping_pong")
        col.prop(s, "motion_blur")
        col = layout.column(heading="Camera")
        col.prop(s, "camera")
        if s.camera == "ORBIT":
            col.prop(s, "orbit_degrees")
        col.prop(s, "framing")
        col.prop(s, "front")
        chosen = _film_front(context)
        if chosen:
            col.label(text=f"This film's front: {chosen.upper()}", icon="VIEW_CAMERA")
        col.prop(s, "margin")
        col.prop(s, "lens_mm")
        col.prop(s, "depth_of_field")
        col.prop(s, "resolution_x")
        col.prop(s, "resolution_y")
        layout.prop(s, "cache_dir")
        layout.operator("flowreel.import_settings", icon="IMPORT")
        op = layout.operator("render.render", text="Render Animation", icon="RENDER_ANIMATION")
        op.animation = True
        layout.operator("export_scene.flowreel_target", icon="EXPORT")
