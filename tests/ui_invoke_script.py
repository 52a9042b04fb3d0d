"""Runs inside Blender's full UI (tests/test_addon_invoke.py starts it under Xvfb):

    BLENDER_USER_SCRIPTS=DIR blender --factory-startup --enable-event-simulate \
        --python tests/ui_invoke_script.py -- TRAINER_CMD RUNS_DIR OUT_DIR

The operators' invoke() paths, as a click in the UI runs them (the bpy module never calls invoke: it has no
window). With the preferences' quality "final" and look "neon" and the sidebar's look "ink":
- Fit Picture or Shape… opens the file browser on an operator whose quality and look are the preferences';
- File > Import > Flowreel opens the file browser with the sidebar's choices;
- Fit Selected Object opens its dialog, and Return starts the fit of the factory cube with those defaults.
Each step is a timer callback, so the UI runs between them; writes OUT_DIR/result.json and quits.
"""

import sys
from pathlib import Path

import addon_utils
import bpy

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ui_common import RESULT, done, guarded, start, view3d  # noqa: E402

TRAINER, RUNS, OUT = sys.argv[sys.argv.index("--") + 1:][:3]
start(OUT)


def then(fn, delay=1.0):
    bpy.app.timers.register(guarded(fn), first_interval=delay)


def invoke(op):
    win, area, region = view3d()
    with bpy.context.temp_override(window=win, area=area, region=region):
        return sorted(op("INVOKE_DEFAULT"))


def file_browser():
    """(window, area, the operator it was opened for) of the open file browser, or None."""
    for win in bpy.context.window_manager.windows:
        for area in win.screen.areas:
            if area.type == "FILE_BROWSER" and area.spaces.active.active_operator is not None:
                return win, area, area.spaces.active.active_operator
    return None


def close_browser(win, area):
    with bpy.context.temp_override(window=win, area=area):
        bpy.ops.file.cancel()


def setup():
    if addon_utils.enable("flowreel", default_set=True) is None:
        raise RuntimeError("the add-on did not enable")
    prefs = bpy.context.preferences.addons["flowreel"].preferences
    prefs.trainer, prefs.runs_dir = TRAINER, RUNS
    prefs.quality, prefs.look = "final", "neon"
    bpy.context.scene.flowreel.look = "ink"
    RESULT["fit_invoke"] = invoke(bpy.ops.flowreel.fit)
    then(lambda: read_browser("fit_browser", ("quality", "look", "filter_glob"), import_browser))


def read_browser(key: str, fields: tuple, next_step) -> None:
    """Record the open file browser's operator and the given properties of it, close it, go on."""
    found = file_browser()
    if found is None:
        raise RuntimeError(f"{key}: no file browser opened")
    win, area, op = found
    RESULT[key] = {"operator": op.bl_rna.identifier, **{name: getattr(op, name) for name in fields}}
    close_browser(win, area)
    then(next_step)


def import_browser():
    RESULT["import_invoke"] = invoke(bpy.ops.import_scene.flowreel)
    then(lambda: read_browser("import_browser", ("look",), fit_object_dialog))


def fit_object_dialog():
    cube = bpy.data.objects["Cube"]  # the factory scene's, selected and active
    bpy.context.view_layer.objects.active = cube
    cube.select_set(True)
    RESULT["fit_object_invoke"] = invoke(bpy.ops.flowreel.fit_object)
    then(press_return, 0.5)


def press_return():
    win = bpy.context.window_manager.windows[0]
    win.event_simulate(type="RET", value="PRESS")  # the dialog's OK
    win.event_simulate(type="RET", value="RELEASE")
    then(read_fit_object, 0.5)


def read_fit_object():
    fit_ops = sys.modules["flowreel.ui.fit_ops"]
    job = fit_ops.STATE.job
    RESULT["fit_object_argv"] = None if job is None else job.argv
    RESULT["fit_object_look"] = fit_ops.STATE.look
    RESULT["last"] = fit_ops.STATE.last
    if job is not None:
        job.kill()
    done()


bpy.context.preferences.view.show_splash = False
then(setup)
