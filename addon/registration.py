"""Register/unregister the add-on's classes, the scene settings and the File > Import entry."""

import bpy

from . import compat
from .ops import FLOWREEL_OT_import, FLOWREEL_OT_import_settings, file_handler_class
from .panel import VIEW3D_PT_flowreel
from .props import FlowreelSettings

CLASSES = (FlowreelSettings, FLOWREEL_OT_import, FLOWREEL_OT_import_settings, VIEW3D_PT_flowreel)
_handler = file_handler_class()
if _handler is not None:
    CLASSES += (_handler,)


def menu_import(self, context):
    self.layout.operator(FLOWREEL_OT_import.bl_idname, text="Flowreel trajectories (.npz)")


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.flowreel = bpy.props.PointerProperty(type=FlowreelSettings)
    compat.import_menu().append(menu_import)


def unregister() -> None:
    compat.import_menu().remove(menu_import)
    if hasattr(bpy.types.Scene, "flowreel"):
        del bpy.types.Scene.flowreel
    for cls in reversed(CLASSES):
        if getattr(cls, "is_registered", True):
            bpy.utils.unregister_class(cls)
