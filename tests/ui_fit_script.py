"""Runs inside Blender's full UI (tests/test_addon_ui.py starts it under Xvfb):

    BLENDER_USER_SCRIPTS=DIR blender --factory-startup --enable-event-simulate \
        --python tests/ui_fit_script.py -- PICTURE TRAINER_CMD RUNS_DIR OUT_DIR

DIR/addons/flowreel is a link to the checkout's addon/ folder: Blender enables it as it does an
installed add-on (its addon_utils, in 3.4, enables top-level modules only, not `flowreel.addon`).
Empties the scene, opens the sidebar on the Flowreel tab, runs Fit Picture through its operator,
lets the add-on's timer see it through to the import, scrubs to the last frame and saves window
screenshots (before.png, progress.png, after.png), then renders a tiny film with Render Film, and
writes result.json. Everything happens in
bpy.app.timers callbacks, as a user's clicks would, so the UI keeps running.
"""

import sys
from pathlib import Path

import addon_utils
import bpy

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ui_common import RESULT, done, guarded, start, view3d  # noqa: E402

PICTURE, TRAINER, RUNS, OUT = sys.argv[sys.argv.index("--") + 1:][:4]
OUT = start(OUT)
RESULT.update({"steps_seen": [], "panel_drawn": False})


def shot(name):
    win, area, region = view3d()
    with bpy.context.temp_override(window=win, area=area):
        bpy.ops.screen.screenshot(filepath=str(OUT / name))
    # where the 3D view's drawing region lies in the window (origin bottom-left, as Blender counts)
    RESULT[name] = {"window": [win.width, win.height],
                    "viewport": [region.x, region.y, region.width, region.height]}


@guarded
def setup():
    if addon_utils.enable("flowreel", default_set=True) is None:
        raise RuntimeError("the add-on did not enable")
    from flowreel.jobs import runner as jobs
    from flowreel.ui import panel

    prefs = bpy.context.preferences.addons["flowreel"].preferences
    prefs.trainer, prefs.runs_dir = TRAINER, RUNS
    # a small film: a fit of a few hundred steps, 20k particles
    jobs.QUALITY["draft"] = {"fm": 400, "ffjord": 20, "particles": 10_000, "frames": 25, "eval_samples": 2000}
    draw = panel.VIEW3D_PT_flowreel.draw

    def recording_draw(self, context):
        RESULT["panel_drawn"] = True
        draw(self, context)

    panel.VIEW3D_PT_flowreel.draw = recording_draw
    for obj in list(bpy.data.objects):  # the factory cube, camera and light: the "before" is an empty scene
        bpy.data.objects.remove(obj)
    win, area, region = view3d()
    space = area.spaces.active
    space.show_region_ui = True
    ui = next(r for r in area.regions if r.type == "UI")
    RESULT["ui_region"] = [ui.x, ui.y, ui.width, ui.height]
    if "active_panel_category" in ui.bl_rna.properties:  # 4.x
        ui.active_panel_category = "Flowreel"
    else:  # 3.4 cannot set the tab from Python: a click on the third tab (Tool, View, Flowreel)
        x, y = ui.x + ui.width - 11, ui.y + ui.height - 110
        win.event_simulate(type="MOUSEMOVE", value="NOTHING", x=x, y=y)
        win.event_simulate(type="LEFTMOUSE", value="PRESS", x=x, y=y)
        win.event_simulate(type="LEFTMOUSE", value="RELEASE", x=x, y=y)
        win.event_simulate(type="MOUSEMOVE", value="NOTHING", x=x - 400, y=y)
    space.overlay.show_floor = False  # the grid would count as drawn pixels
    space.overlay.show_axis_x = space.overlay.show_axis_y = False
    bpy.app.timers.register(guarded(before), first_interval=1.0)


def before():
    shot("before.png")
    win, area, region = view3d()
    with bpy.context.temp_override(window=win, area=area, region=region):
        RESULT["fit_op"] = sorted(bpy.ops.flowreel.fit("EXEC_DEFAULT", filepath=PICTURE, seed=0, look="glow"))
    bpy.app.timers.register(guarded(watch), first_interval=0.5)


def watch():
    from flowreel.ui import fit_ops

    job = fit_ops.STATE.job
    if job is not None:
        RESULT["steps_seen"].append(job.step)
        if job.step >= 100 and "progress.png" not in RESULT:
            RESULT["status_line"] = job.status_line()
            shot("progress.png")
        return 0.5
    RESULT["last"] = fit_ops.STATE.last
    if not fit_ops.STATE.last.startswith("Flowreel: imported"):
        done(f"fit did not import: {fit_ops.STATE.last}")
        return None
    scene = bpy.context.scene
    scene.frame_set(scene.frame_end)
    RESULT["frame"] = scene.frame_current
    for obj in scene.objects:
        obj.select_set(False)
    win, area, region = view3d()
    area.spaces.active.region_3d.view_perspective = "CAMERA"  # the film's framing of the picture
    bpy.app.timers.register(guarded(after), first_interval=1.0)  # let the viewport draw the points
    return None


def after():
    shot("after.png")
    # Render Film: this Blender as a background child renders a tiny film of the imported trajectories
    s = bpy.context.scene.flowreel
    s.resolution_x, s.resolution_y, s.fps, s.seconds, s.hold_start, s.hold_end = 64, 48, 4, 0.5, 0.0, 0.0
    RESULT["render_op"] = sorted(bpy.ops.flowreel.render_film(engine="WORKBENCH", output=str(OUT / "film.mp4")))
    bpy.app.timers.register(guarded(watch_render), first_interval=0.5)


def watch_render():
    from flowreel.ui import fit_ops

    job = fit_ops.STATE.job
    if job is not None:
        RESULT["render_argv0"] = job.argv[0]
        RESULT["render_frames"] = [job.step, job.steps]
        return 0.5
    RESULT["render_last"] = fit_ops.STATE.last
    done()
    return None


bpy.context.preferences.view.show_splash = False  # read before the UI starts: no splash over the viewport
bpy.app.timers.register(guarded(setup), first_interval=1.0)
