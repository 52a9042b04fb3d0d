"""Register/unregister the add-on's classes, the scene settings and the File > Import entry."""

import atexit
import inspect

import bpy

from . import compat
from .render.splat.engine import FlowreelSplatEngine
from .ui import fit_ops, fit_text, key_props
from .ui.ops import FLOWREEL_OT_export_target, FLOWREEL_OT_import, FLOWREEL_OT_import_settings, file_handler_class
from .ui.panel import VIEW3D_PT_flowreel
from .ui.prefs import FLOWREEL_OT_check_trainer, FlowreelPreferences
from .ui.props import FlowreelSettings

CLASSES = (FlowreelPreferences, FLOWREEL_OT_check_trainer, FlowreelSettings, FLOWREEL_OT_import,
           FLOWREEL_OT_import_settings, *fit_ops.CLASSES, *fit_text.CLASSES, VIEW3D_PT_flowreel,
           FLOWREEL_OT_export_target, *key_props.CLASSES, FlowreelSplatEngine)
_handler = file_handler_class()
if _handler is not None:
    CLASSES += (_handler,)


def menu_import(self, context):
    self.layout.operator(FLOWREEL_OT_import.bl_idname, text="Flowreel trajectories (.npz)")
    self.layout.operator(fit_ops.FLOWREEL_OT_fit.bl_idname, text="Flowreel: fit picture or shape…")


def menu_export(self, context):
    self.layout.operator(FLOWREEL_OT_export_target.bl_idname, text="Flowreel target (.ply/.obj)")


_registered = False
_exit_hook = False


def register() -> None:
    global _registered, _exit_hook
    for cls in CLASSES:
        if not getattr(cls, "is_registered", False):  # the render engine: a render may have registered it
            bpy.utils.register_class(cls)
    bpy.types.Scene.flowreel = bpy.props.PointerProperty(type=FlowreelSettings)
    key_props.register_properties()
    compat.import_menu().append(menu_import)
    compat.export_menu().append(menu_export)
    _registered = True
    if compat.unregister_before_exit() and not _exit_hook:
        # `import addon; addon.register()` and exit is the documented use in plain Python. atexit runs
        # hooks last-in first-out, so this one runs before the shutdown hook bpy installed on import.
        atexit.register(_at_exit)
        _exit_hook = True


def _at_exit() -> None:
    if _registered:
        unregister()
    if compat.drop_methods_at_exit():
        _drop_methods()


def _drop_methods() -> None:
    """Delete the Python functions of the add-on's classes and their mixins (see compat)."""
    package = __name__.rpartition(".")[0]  # flowreel.addon, or bl_ext.<repo>.flowreel as an extension
    for cls in CLASSES:
        for klass in cls.__mro__:
            if not klass.__module__.startswith(package + "."):
                continue
            for name, value in list(vars(klass).items()):
                if inspect.isfunction(value) or isinstance(value, (classmethod, staticmethod, property)):
                    delattr(klass, name)
            # The property definitions too: an update callback (key_props' Hold and Move) is a function the
            # class still reaches, and 4.2 segfaulted at exit with them (tests/test_addon_exit.py).
            vars(klass).get("__annotations__", {}).clear()


def unregister() -> None:
    global _registered
    _registered = False
    fit_ops.stop()
    compat.import_menu().remove(menu_import)
    compat.export_menu().remove(menu_export)
    if hasattr(bpy.types.Scene, "flowreel"):
        del bpy.types.Scene.flowreel
    key_props.unregister_properties()
    for cls in reversed(CLASSES):
        if getattr(cls, "is_registered", True):
            bpy.utils.unregister_class(cls)
