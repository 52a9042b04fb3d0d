"""Operators: File > Import > Flowreel trajectories (.npz), the sidebar's Import button, and
File > Export > Flowreel target (.ply/.obj) for modelling a 3-D target in Blender."""

import bpy
from bpy.props import BoolProperty, StringProperty
from bpy_extras.io_utils import ExportHelper, ImportHelper

from ..core.errors import FlowreelError
from .props import OptionProps


def run_import(op, context, filepath: str, opts) -> set:
    """Build the scene; a bad file or setting becomes an ERROR report and {'CANCELLED'}."""
    from ..scene.build import build_scene

    wm = context.window_manager
    wm.progress_begin(0, 100)
    try:
        obj = build_scene(context.scene, filepath, opts, progress=lambda f: wm.progress_update(int(100 * f)))
    except FlowreelError as e:  # anything else is a bug: Blender shows its traceback
        op.report({"ERROR"}, str(e).splitlines()[0] if str(e) else type(e).__name__)
        return {"CANCELLED"}
    finally:
        wm.progress_end()
    op.report({"INFO"}, f"Flowreel: imported {len(obj.data.vertices)} particles")
    return {"FINISHED"}


class FLOWREEL_OT_import(OptionProps, bpy.types.Operator, ImportHelper):
    """Import flow trajectories (.npz) as an animated point cloud with camera and look"""

    bl_idname = "import_scene.flowreel"
    bl_label = "Import Flowreel Trajectories"
    bl_options = {"REGISTER", "UNDO", "PRESET"}

    filename_ext = ".npz"
    filter_glob: StringProperty(default="*.npz", options={"HIDDEN"})

    def invoke(self, context, event):
        settings = getattr(context.scene, "flowreel", None)
        if settings is not None:  # start the dialog from the sidebar's choices
            self.copy_from(settings)
        if self.properties.is_property_set("filepath") and hasattr(self, "invoke_popup"):
            return self.invoke_popup(context)  # a file dropped on the viewport (4.2+): options popup only
        return ImportHelper.invoke(self, context, event)

    def execute(self, context):
        try:
            opts = self.to_options()
        except FlowreelError as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        return run_import(self, context, self.filepath, opts)


class FLOWREEL_OT_import_settings(bpy.types.Operator):
    """Import the sidebar's trajectory file with the sidebar's settings"""

    bl_idname = "flowreel.import_settings"
    bl_label = "Import"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        settings = context.scene.flowreel
        if not settings.filepath:
            self.report({"ERROR"}, "Choose a trajectory file (.npz) first")
            return {"CANCELLED"}
        return run_import(self, context, bpy.path.abspath(settings.filepath), settings.to_options())


def file_handler_class():
    """Drag-and-drop of .npz files onto the 3D viewport (Blender 4.1+); None where unsupported."""
    from .. import compat

    base = compat.file_handler_base()
    if base is None:
        return None

    class FLOWREEL_FH_import(base):
        bl_idname = "FLOWREEL_FH_import"
        bl_label = "Flowreel trajectories"
        bl_import_operator = FLOWREEL_OT_import.bl_idname
        bl_file_extensions = ".npz"

        @classmethod
        def poll_drop(cls, context):
            return context.area is not None and context.area.type == "VIEW_3D"

    return FLOWREEL_FH_import


class FLOWREEL_OT_export_target(bpy.types.Operator, ExportHelper):
    """Write the selected object's evaluated mesh (modifiers applied, world space) as a .ply or .obj
    target for `trainer fit` / `trainer movie`"""

    bl_idname = "export_scene.flowreel_target"
    bl_label = "Export as Flowreel Target"
    bl_options = {"REGISTER"}

    filename_ext = ".ply"
    check_extension = None  # .ply or .obj, whichever the name ends with (.ply when it has none)
    filter_glob: StringProperty(default="*.ply;*.obj", options={"HIDDEN"})
    ascii: BoolProperty(name="ASCII PLY", description="Write a text PLY instead of a binary one", default=False)

    def execute(self, context):
        import os

        from .export_target import export_target

        path = bpy.path.abspath(self.filepath)
        if path and not os.path.splitext(path)[1]:
            path += ".ply"
        try:
            name, tm = export_target(context, path, ascii=self.ascii)
        except FlowreelError as e:
            self.report({"ERROR"}, str(e).splitlines()[0] if str(e) else type(e).__name__)
            return {"CANCELLED"}
        self.report({"INFO"}, f"Flowreel: wrote {name} ({len(tm.vertices)} vertices, {len(tm.faces)} triangles) "
                              f"to {os.path.basename(path)}")
        return {"FINISHED"}
