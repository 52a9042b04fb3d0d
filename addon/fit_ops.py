"""Fit a picture and render the film from Blender: the trainer (or the render script) runs as a child
process, a timer polls it, a finished fit imports by itself.

The job logic (child process, progress lines, cancel) is core.jobs and has no bpy; this module is the
thin Blender side: the operators, the timer that polls the job, status bar text and the import at the end.
Every way a fit can end badly (no trainer, unreadable picture, trainer error, Cancel) is one report
and leaves the scene as it was: nothing is built until the trajectory file exists.
"""

import sys
from pathlib import Path

import bpy
from bpy.props import BoolProperty, EnumProperty, IntProperty, StringProperty

from . import prefs as _prefs
from .core.jobs import Job, JobError, check_picture, fit_command, render_flags, resolve_command, run_dir_for
from .core.options import LOOKS
from .props import OPTION_NAMES

POLL_SECONDS = 0.25
PICTURES = "*.png;*.jpg;*.jpeg;*.bmp;*.gif;*.tif;*.tiff;*.webp"


class _State:
    job: Job | None = None
    look: str = ""
    output: str = ""  # the render job's film
    last: str = ""  # the last outcome, shown in the panel until the next fit
    last_kind: str = "INFO"


STATE = _State()


def _status(text: str | None) -> None:
    """Status bar text (None clears it) and a redraw of the sidebars showing the job."""
    ctx = bpy.context
    workspace = getattr(ctx, "workspace", None)
    if workspace is not None:
        workspace.status_text_set(text)
    wm = getattr(ctx, "window_manager", None)
    for window in getattr(wm, "windows", ()):
        for area in window.screen.areas:
            if area.type in ("VIEW_3D", "STATUSBAR"):
                area.tag_redraw()


def _report(kind: str, message: str) -> None:
    """A report from the timer, which has no operator of its own: the info log and status bar show it."""
    STATE.last, STATE.last_kind = message, kind
    try:
        bpy.ops.flowreel.job_report(kind=kind, message=message)
    except RuntimeError:  # an ERROR report raises when called from Python; it has been shown all the same
        pass


def tick() -> float | None:
    """The timer: take in the child's progress; at its end import or report. None stops the timer."""
    job = STATE.job
    if job is None:
        return None
    if job.poll() == "running":
        _status(job.status_line())
        return POLL_SECONDS
    _status(None)
    STATE.job = None
    if job.state != "done":
        _report("WARNING" if job.state == "cancelled" else "ERROR", f"Flowreel: {job.message}")
        return None
    if job.kind == "render":
        _report("INFO", f"Flowreel: wrote {STATE.output}")
        return None
    _import(job.result.get("export") or "")
    return None


def _import(path: str) -> None:
    """The finished fit's trajectories through the import operator, with the sidebar's settings."""
    scene = bpy.context.scene
    settings = getattr(scene, "flowreel", None)
    kwargs = {name: getattr(settings, name) for name in OPTION_NAMES} if settings is not None else {}
    if "color" in kwargs:
        kwargs["color"] = tuple(kwargs["color"])
    if STATE.look:
        kwargs["look"] = STATE.look
    try:
        bpy.ops.import_scene.flowreel("EXEC_DEFAULT", filepath=path, **kwargs)
    except RuntimeError as e:  # the operator has reported the one-line reason; keep it for the panel
        STATE.last, STATE.last_kind = str(e).replace("Error: ", "", 1).strip(), "ERROR"
        return
    if settings is not None:
        settings.filepath = path  # the sidebar's Import and Render Film take it from here
    STATE.last, STATE.last_kind = f"Flowreel: imported {Path(path).parent.name}", "INFO"


def start(op, context, image: str, method: str, quality: str, steps: int, seed: int, look: str) -> set:
    """Check, then launch the fit as a child and the timer; the scene is untouched until it ends."""
    if STATE.job is not None and STATE.job.running:
        op.report({"ERROR"}, "Flowreel: a job is already running (Cancel it first)")
        return {"CANCELLED"}
    p = _prefs.get(context)
    try:
        picture = check_picture(bpy.path.abspath(image))
        trainer = resolve_command(p.trainer)
        run = run_dir_for(_prefs.runs_dir(p), picture, method, seed, steps)
        run.mkdir(parents=True, exist_ok=True)
        argv, _export = fit_command(trainer, picture, run, method=method, quality=quality, steps=steps, seed=seed)
        _launch(Job(argv, kind="fit", cwd=str(run)))
    except JobError as e:
        op.report({"ERROR"}, str(e))
        return {"CANCELLED"}
    except OSError as e:  # the runs folder cannot be made
        op.report({"ERROR"}, f"Flowreel: runs folder {e.filename}: {e.strerror}")
        return {"CANCELLED"}
    STATE.look = look
    op.report({"INFO"}, f"Flowreel: fitting {picture.name} ({'resuming' if '--resume' in argv else method})")
    return {"FINISHED"}


def _launch(job: Job) -> None:
    STATE.job, STATE.last = job.start(), ""
    if not bpy.app.timers.is_registered(tick):
        bpy.app.timers.register(tick, first_interval=POLL_SECONDS)
    _status(job.status_line())


def render_command(traj: Path, output: Path, engine: str, opts) -> list[str]:
    """The render script as a child: this very Blender in the background, or (bpy module) this Python."""
    if bpy.app.binary_path:
        head = [bpy.app.binary_path, "-b", "--factory-startup", "--python", str(Path(__file__).parent / "render.py"),
                "--"]  # fmt: skip
    else:
        head = [sys.executable, "-m", f"{_prefs.PACKAGE}.render"]
    return [*head, str(traj), "-o", str(output), "--engine", engine.lower(), *render_flags(opts)]


def stop() -> None:
    """Unregister: end a running child at once (nothing may outlive the add-on) and the timer."""
    if STATE.job is not None:
        STATE.job.kill()
        STATE.job = None
    if bpy.app.timers.is_registered(tick):
        bpy.app.timers.unregister(tick)


def _method_items():
    return [("fm", "Flow Matching", "Fast, the default"), ("ffjord", "FFJORD", "Maximum likelihood; much slower")]


class FLOWREEL_OT_fit(bpy.types.Operator):
    """Fit a flow to a picture with the trainer (a child process), then import the result"""

    bl_idname = "flowreel.fit"
    bl_label = "Fit Picture…"
    bl_options = {"REGISTER"}

    filepath: StringProperty(name="Picture", subtype="FILE_PATH")
    filter_glob: StringProperty(default=PICTURES, options={"HIDDEN"})
    filter_image: BoolProperty(default=True, options={"HIDDEN"})
    method: EnumProperty(name="Method", items=_method_items(), default="fm")
    quality: EnumProperty(name="Quality", items=_prefs.QUALITY_ITEMS, default="draft")
    steps: IntProperty(name="Steps", description="Training steps (0 = the quality's)", default=0, min=0)
    seed: IntProperty(name="Seed", description="Makes the fit repeatable", default=0, min=0)
    look: EnumProperty(name="Look", items=[(v, v.title(), "") for v in LOOKS], default="glow")

    def invoke(self, context, event):
        p = _prefs.get(context)
        if not self.properties.is_property_set("quality"):
            self.quality = p.quality
        if not self.properties.is_property_set("look"):
            self.look = p.look
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        if not self.filepath:
            self.report({"ERROR"}, "Flowreel: choose a picture to fit")
            return {"CANCELLED"}
        return start(self, context, self.filepath, self.method, self.quality, self.steps, self.seed, self.look)


class FLOWREEL_OT_render_film(bpy.types.Operator):
    """Render the sidebar's trajectory file to a film with the sidebar's settings, in the background"""

    bl_idname = "flowreel.render_film"
    bl_label = "Render Film"
    bl_options = {"REGISTER"}

    engine: EnumProperty(name="Engine", default="EEVEE", items=[
        ("CYCLES", "Cycles", ""), ("EEVEE", "EEVEE", ""), ("WORKBENCH", "Workbench", "Fast previews")])  # fmt: skip
    output: StringProperty(name="Film", subtype="FILE_PATH", description="(empty = <trajectories>.mp4 beside them)")

    def execute(self, context):
        if STATE.job is not None and STATE.job.running:
            self.report({"ERROR"}, "Flowreel: a job is already running (Cancel it first)")
            return {"CANCELLED"}
        settings = context.scene.flowreel
        traj = Path(bpy.path.abspath(settings.filepath)) if settings.filepath else None
        if traj is None or not traj.is_file():
            self.report({"ERROR"}, "Flowreel: choose a trajectory file (.npz) to render first")
            return {"CANCELLED"}
        output = Path(bpy.path.abspath(self.output)) if self.output else traj.with_suffix(".mp4")
        try:
            opts = settings.to_options()
            _launch(Job(render_command(traj, output, self.engine, opts), kind="render", cwd=str(traj.parent)))
        except (JobError, ValueError) as e:
            self.report({"ERROR"}, f"Flowreel: {e}")
            return {"CANCELLED"}
        STATE.output = str(output)
        self.report({"INFO"}, f"Flowreel: rendering {output.name}")
        return {"FINISHED"}


class FLOWREEL_OT_fit_cancel(bpy.types.Operator):
    """Stop the running fit or render: a fit keeps its checkpoint (fitting again resumes), a render its frames"""

    bl_idname = "flowreel.fit_cancel"
    bl_label = "Cancel"

    @classmethod
    def poll(cls, context):
        return STATE.job is not None and STATE.job.running

    def execute(self, context):
        STATE.job.cancel()
        self.report({"INFO"}, "Flowreel: cancelling (the trainer saves its checkpoint)")
        return {"FINISHED"}


class FLOWREEL_OT_job_report(bpy.types.Operator):
    """Show a message from a background job"""

    bl_idname = "flowreel.job_report"
    bl_label = "Flowreel Report"
    bl_options = {"INTERNAL"}

    kind: StringProperty(default="INFO")
    message: StringProperty(default="")

    def execute(self, context):
        self.report({self.kind}, self.message)
        return {"FINISHED"} if self.kind == "INFO" else {"CANCELLED"}


def draw(layout, context) -> None:
    """The panel's fit section: the button, or the running job's progress and Cancel."""
    box = layout.box()
    job = STATE.job
    if job is not None and job.running:
        for i, line in enumerate(job.short_lines()):  # the sidebar is narrow: short lines, not the status bar's
            box.label(text=line, icon="TIME" if i == 0 else "NONE")
        box.operator(FLOWREEL_OT_fit_cancel.bl_idname, icon="CANCEL")
    else:
        col = box.column(align=True)  # stacked: side by side, the narrow sidebar cuts both labels
        col.operator(FLOWREEL_OT_fit.bl_idname, icon="IMAGE_DATA")
        col.operator(FLOWREEL_OT_render_film.bl_idname, icon="RENDER_ANIMATION")
        if STATE.last:
            text = STATE.last.removeprefix("Flowreel: ")  # the panel says Flowreel already
            box.label(text=text, icon="ERROR" if STATE.last_kind == "ERROR" else "INFO")


CLASSES = (FLOWREEL_OT_fit, FLOWREEL_OT_render_film, FLOWREEL_OT_fit_cancel, FLOWREEL_OT_job_report)
