"""Fit a picture, a 3-D file, the selected object or a sequence of pictures, and render the film, from
Blender: the trainer (or the render script) runs as a child process, a timer polls it, a finished fit
imports by itself. What is fitted and where (run folders by content, reuse) is jobs.fit_plan.

The job logic (child process, progress lines, cancel) is jobs.runner and has no bpy; this module is the
thin Blender side: the operators, the timer that polls the job, status bar text and the import at the end.
Every way a fit can end badly (no trainer, unreadable target, nothing selected, trainer error, Cancel) is one report
and leaves the scene as it was: nothing is built until the trajectory file exists.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

import bpy
from bpy.props import BoolProperty, CollectionProperty, EnumProperty, IntProperty, StringProperty

from ..core import background
from ..core.atomic import atomic_write
from ..core.contract.kinds import PICTURE_KINDS, file_filter
from ..core.contract.render_command import blender_command, cluster_render_command, render_flags, render_script
from ..core.errors import FlowreelError
from ..core.options import LOOKS
from ..jobs import fit_plan as fit_targets
from ..jobs import trainer_source
from ..jobs.runner import Job, JobError, resolve_command
from . import prefs as _prefs
from .props import OPTION_NAMES

POLL_SECONDS = 0.25
PICTURES = file_filter(*PICTURE_KINDS)  # the file browser's filters: core/contract/kinds.py
TARGETS = file_filter()


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


def _busy(op) -> bool:
    if STATE.job is not None and STATE.job.running:
        op.report({"ERROR"}, "Flowreel: a job is already running (Cancel it first)")
        return True
    return False


def _run(op, plan: fit_targets.FitPlan, cwd: Path, what: str, look: str) -> set:
    """Start the plan's child (or, for a finished run whose film is there, import it now)."""
    STATE.look = look
    if plan.argv is None:
        _import(str(plan.export))
        kind = "ERROR" if STATE.last_kind == "ERROR" else "INFO"
        op.report({kind}, STATE.last if kind == "ERROR" else f"Flowreel: {what} was fitted already; imported it")
        return {"CANCELLED"} if kind == "ERROR" else {"FINISHED"}
    _launch(Job(plan.argv, kind="fit", cwd=str(cwd)))
    if waits_here():
        return run_to_end(op)
    op.report({"INFO"}, f"Flowreel: {'fitting' if plan.how == 'fit' else plan.how + 'ing'} {what}")
    return {"FINISHED"}


def waits_here() -> bool:
    """Background mode (`blender -b`, the bpy module) has no event loop to run the timer, so a script's
    bpy.ops.flowreel.fit(...) runs the job to its end before it returns. FLOWREEL_BACKGROUND_JOBS=timer keeps
    the timer there too (the test suite drives it itself, as the UI's event loop would)."""
    return bool(bpy.app.background) and os.environ.get("FLOWREEL_BACKGROUND_JOBS", "") != "timer"


def run_to_end(op) -> set:
    """Poll the running job as the timer does until it ends (import or report); Ctrl-C cancels it as Cancel
    does (the fit keeps its checkpoint). FINISHED when it imported or wrote the film, else CANCELLED."""
    try:
        while tick() is not None:
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        job = STATE.job
        if job is not None and job.running:
            job.cancel()
            job.wait(timeout=120.0)
        STATE.job = None
        raise
    finally:
        if bpy.app.timers.is_registered(tick):
            bpy.app.timers.unregister(tick)
    ok = STATE.last_kind == "INFO"
    op.report({"INFO" if ok else "ERROR"}, STATE.last)
    return {"FINISHED"} if ok else {"CANCELLED"}


def start(op, context, image: str, method: str, quality: str, steps: int, seed: int, look: str,
          fill: str | None = None) -> set:
    """Check, then launch the fit of one picture or 3-D file as a child and the timer; the scene is
    untouched until it ends."""
    if _busy(op):
        return {"CANCELLED"}
    p = _prefs.get(context)
    try:
        target = fit_targets.check_target(bpy.path.abspath(image))
        trainer = resolve_command(p.trainer)
        steps = fit_targets.steps_for(quality, method, steps)
        fill = fill if fit_targets.is_shape(target) else None
        run = fit_targets.run_dir_for_bytes(_prefs.runs_dir(p), target.stem, target.read_bytes(), method, seed,
                                            steps, fill)  # fmt: skip
        run.mkdir(parents=True, exist_ok=True)
        plan = fit_targets.plan_single(trainer, target, run, method=method, quality=quality, steps=steps, seed=seed,
                                       fill=fill)  # fmt: skip
    except JobError as e:
        op.report({"ERROR"}, str(e))
        return {"CANCELLED"}
    except OSError as e:  # the runs folder cannot be made
        op.report({"ERROR"}, f"Flowreel: runs folder {e.filename}: {e.strerror}")
        return {"CANCELLED"}
    return _run(op, plan, run, target.name, look)


def start_sequence(op, context, images: list[str], quality: str, steps: int, seed: int, look: str, start_at: str,
                   via: str) -> set:
    """Two or more pictures, sorted by name: `trainer fit A B ... --out SEQ --export`, imported at the end."""
    if _busy(op):
        return {"CANCELLED"}
    p = _prefs.get(context)
    try:
        pictures = fit_targets.check_sequence([bpy.path.abspath(i) for i in images])
        trainer = resolve_command(p.trainer)
        steps = fit_targets.steps_for(quality, "fm", steps)
        runs = _prefs.runs_dir(p)
        seq = fit_targets.sequence_run_dir(runs, pictures, start_at, via, seed, steps)
        seq.mkdir(parents=True, exist_ok=True)
        plan = fit_targets.plan_sequence(trainer, pictures, runs, seq, quality=quality, steps=steps, seed=seed,
                                         start=start_at, via=via)  # fmt: skip
        if p.cluster and plan.argv is not None:  # its flows as parallel tasks on the cluster
            plan.argv += ["--cluster", p.cluster]
    except JobError as e:
        op.report({"ERROR"}, str(e))
        return {"CANCELLED"}
    except OSError as e:
        op.report({"ERROR"}, f"Flowreel: runs folder {e.filename}: {e.strerror}")
        return {"CANCELLED"}
    return _run(op, plan, seq, f"a sequence of {len(pictures)} pictures ({', '.join(x.name for x in pictures)})",
                look)


def start_object(op, context, method: str, quality: str, steps: int, seed: int, look: str, fill: str) -> set:
    """The selected object's evaluated mesh (export_target's code) written into its run folder, keyed by the
    .ply bytes, then fitted as a 3-D target like any file."""
    from .export_target import pick_object, ply_bytes, target_mesh

    if _busy(op):
        return {"CANCELLED"}
    p = _prefs.get(context)
    try:
        obj = pick_object(context, "fit")
        tm = target_mesh(obj, context.evaluated_depsgraph_get())
        data = ply_bytes(tm, comment="Flowreel target from " + obj.name.encode("ascii", "replace").decode())
        trainer = resolve_command(p.trainer)
        steps = fit_targets.steps_for(quality, method, steps)
        run = fit_targets.run_dir_for_bytes(_prefs.runs_dir(p), obj.name, data, method, seed, steps, fill)
        run.mkdir(parents=True, exist_ok=True)
        target = run / (fit_targets.safe_name(obj.name) + ".ply")
        if not target.is_file():  # the folder is keyed by these bytes: one there already is the same
            with atomic_write(target) as f:
                f.write(data)
        plan = fit_targets.plan_single(trainer, target, run, method=method, quality=quality, steps=steps, seed=seed,
                                       fill=fill)  # fmt: skip
    except FlowreelError as e:  # TargetError (nothing selected, a camera, an empty mesh), JobError
        op.report({"ERROR"}, str(e).splitlines()[0] if str(e) else type(e).__name__)
        return {"CANCELLED"}
    except OSError as e:
        op.report({"ERROR"}, f"Flowreel: runs folder {e.filename}: {e.strerror}")
        return {"CANCELLED"}
    return _run(op, plan, run, f"'{obj.name}' ({len(tm.vertices)} vertices, {fill})", look)


def _launch(job: Job) -> None:
    STATE.job, STATE.last = job.start(), ""
    if not bpy.app.timers.is_registered(tick):
        bpy.app.timers.register(tick, first_interval=POLL_SECONDS)
    _status(job.status_line())


def render_command(traj: Path, output: Path, engine: str, opts) -> list[str]:
    """The render script as a child: this very Blender in the background, or (bpy module) this Python."""
    args = [str(traj), "-o", str(output), "--engine", engine.lower(), *render_flags(opts)]
    script = render_script(Path(__file__).resolve().parent.parent)
    site = trainer_source.bundled_site()  # the full zip's wheels (the encode's ffmpeg-python and ffmpeg)
    if bpy.app.binary_path:
        return blender_command(bpy.app.binary_path, script, args, site=str(site) if site else None)
    if site is not None or _prefs.PACKAGE.startswith("bl_ext."):
        # an extension's package exists only in this process: run its file, the wheels' folder on the path
        return [sys.executable, "-c", _RUN_SCRIPT, str(site or ""), str(script), *args]
    return [sys.executable, "-m", f"{_prefs.PACKAGE}.render", *args]


def render_env() -> dict[str, str]:
    """The render child's environment over this one's. With the full extension's wheels installed, the child's
    Blender (the bpy module, or `blender -b --factory-startup`) sees no extension enabled, and its start-up would
    remove the wheels of every extension it does not see enabled, the trainer's among them: it gets an
    extensions folder of its own (empty), and the wheels' folder on its path instead (render_command)."""
    if trainer_source.bundled_site() is None:
        return {}
    return {"BLENDER_USER_EXTENSIONS": str(Path(tempfile.gettempdir()) / "flowreel-render-extensions")}


# argv: [-c, SITE, SCRIPT, args...] -> SITE appended to sys.path (if any), SCRIPT run as __main__ with its args
_RUN_SCRIPT = ("import runpy, sys; site = sys.argv.pop(1); sys.path.extend([site] if site else []); "
               "sys.argv.pop(0); runpy.run_path(sys.argv[0], run_name='__main__')")  # fmt: skip


def stop() -> None:
    """Unregister: end a running child at once (nothing may outlive the add-on) and the timer."""
    if STATE.job is not None:
        STATE.job.kill()
        STATE.job = None
    if bpy.app.timers.is_registered(tick):
        bpy.app.timers.unregister(tick)


def _method_items():
    return [("fm", "Flow Matching", "Fast, the default"), ("ffjord", "FFJORD", "Maximum likelihood; much slower")]


def _fill_items():
    return [("surface", "Surface", "Particles on the mesh's surface"),
            ("volume", "Volume", "Particles inside the mesh (it must be watertight: closed, no holes)")]  # fmt: skip


class _FitOptions:
    """The options every fit from Blender has (Fit Picture, Fit Selected Object)."""

    method: EnumProperty(name="Method", items=_method_items(), default="fm")
    quality: EnumProperty(name="Quality", items=_prefs.QUALITY_ITEMS, default="draft")
    steps: IntProperty(name="Steps", description="Training steps (0 = the quality's)", default=0, min=0)
    seed: IntProperty(name="Seed", description="Makes the fit repeatable", default=0, min=0)
    look: EnumProperty(name="Look", items=[(v, v.title(), "") for v in LOOKS], default="glow")
    fill: EnumProperty(name="Fill", items=_fill_items(), default="surface",
                       description="A mesh: particles on its surface, or inside it (watertight meshes only)")

    def _defaults(self, context) -> None:
        p = _prefs.get(context)
        if not self.properties.is_property_set("quality"):
            self.quality = p.quality
        if not self.properties.is_property_set("look"):
            self.look = p.look


class FLOWREEL_OT_fit(_FitOptions, bpy.types.Operator):
    """Fit a flow to a picture or a 3-D file (.obj .ply .stl .glb .gltf .npy .xyz) with the trainer (a child
    process), then import the result. Two or more pictures make a sequence, in order of their names"""

    bl_idname = "flowreel.fit"  # kept: tests and user keymaps call it by this id
    bl_label = "Fit Picture or Shape…"
    bl_options = {"REGISTER"}

    filepath: StringProperty(name="Picture or Shape", subtype="FILE_PATH")
    directory: StringProperty(subtype="DIR_PATH", options={"HIDDEN", "SKIP_SAVE"})
    files: CollectionProperty(type=bpy.types.OperatorFileListElement, options={"HIDDEN", "SKIP_SAVE"})
    filter_glob: StringProperty(default=TARGETS, options={"HIDDEN"})
    filter_image: BoolProperty(default=True, options={"HIDDEN"})
    start: EnumProperty(name="Start", default="noise", description="A sequence: how the film opens", items=[
        ("noise", "Noise", "Open on noise and form the first picture"),
        ("picture", "Picture", "Open on the first picture")])  # fmt: skip
    via: EnumProperty(name="Via", default="direct", description="A sequence: how each picture becomes the next",
                      items=[("direct", "Direct", "Each picture flows straight into the next"),
                             ("noise", "Noise", "Dissolve into noise and re-form")])  # fmt: skip

    def invoke(self, context, event):
        self._defaults(context)
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def draw(self, context):
        layout = self.layout
        for name in ("method", "quality", "steps", "seed", "look"):
            layout.prop(self, name)
        layout.label(text="3-D mesh:")
        layout.prop(self, "fill")
        layout.label(text="Several pictures (sorted by name):")
        layout.prop(self, "start")
        layout.prop(self, "via")

    def paths(self) -> list[str]:
        """The chosen files: the browser's selection (directory + names), else filepath."""
        names = [f.name for f in self.files if f.name]
        if names and self.directory:
            return [str(Path(bpy.path.abspath(self.directory)) / n) for n in names]
        return [self.filepath] if self.filepath else []

    def execute(self, context):
        paths = self.paths()
        if not paths:
            self.report({"ERROR"}, "Flowreel: choose a picture or a 3-D file to fit")
            return {"CANCELLED"}
        if len(paths) > 1:
            if self.method != "fm":
                self.report({"ERROR"}, "Flowreel: a sequence is fitted with Flow Matching, not FFJORD")
                return {"CANCELLED"}
            return start_sequence(self, context, paths, self.quality, self.steps, self.seed, self.look, self.start,
                                  self.via)  # fmt: skip
        return start(self, context, paths[0], self.method, self.quality, self.steps, self.seed, self.look,
                     self.fill)  # fmt: skip


class FLOWREEL_OT_fit_object(_FitOptions, bpy.types.Operator):
    """Fit a flow to the selected object's evaluated mesh (modifiers applied, world space): its surface, or
    its inside when watertight. The same unchanged object fitted again reuses its run"""

    bl_idname = "flowreel.fit_object"
    bl_label = "Fit Selected Object"
    bl_options = {"REGISTER"}

    def invoke(self, context, event):
        self._defaults(context)
        return context.window_manager.invoke_props_dialog(self)

    def execute(self, context):
        return start_object(self, context, self.method, self.quality, self.steps, self.seed, self.look, self.fill)


class FLOWREEL_OT_render_film(bpy.types.Operator):
    """Render the sidebar's trajectory file to a film with the sidebar's settings, in the background"""

    bl_idname = "flowreel.render_film"
    bl_label = "Render Film"
    bl_options = {"REGISTER"}

    engine: EnumProperty(name="Engine", default="EEVEE", items=[
        ("CYCLES", "Cycles", ""), ("EEVEE", "EEVEE", ""), ("WORKBENCH", "Workbench", "Fast previews"),
        ("SPLAT", "Splat", "Glowing looks on flat films: Cycles' converged image without path tracing, at about a "
         "tenth of its final cost (other films render with Cycles)")])  # fmt: skip
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
        try:
            opts = settings.to_options()
            # A transparent film needs a format with alpha: ProRes 4444 unless the user named one.
            suffix = ".mov" if opts.background == "transparent" else ".mp4"
            output = Path(bpy.path.abspath(self.output)) if self.output else traj.with_suffix(suffix)
            opts.check()
            background.check_output(output, background.parse_background(opts.background))
            prefs = _prefs.get(context)
            if prefs.cluster:  # the trainer renders the chunks on the cluster; Cancel (SIGINT) stops its tasks
                argv = cluster_render_command(resolve_command(prefs.trainer), traj, output, self.engine, opts,
                                              prefs.cluster)
                env = {}
            else:
                argv, env = render_command(traj, output, self.engine, opts), render_env()
            STATE.output = str(output)
            _launch(Job(argv, kind="render", cwd=str(traj.parent), env=env))
        except (JobError, ValueError) as e:
            self.report({"ERROR"}, f"Flowreel: {e}")
            return {"CANCELLED"}
        if waits_here():
            return run_to_end(self)
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
        col.operator("flowreel.fit_text", icon="FONT_DATA")  # addon/ui/fit_text.py
        col.operator(FLOWREEL_OT_fit_object.bl_idname, icon="MESH_ICOSPHERE")
        col.operator(FLOWREEL_OT_render_film.bl_idname, icon="RENDER_ANIMATION")
        if STATE.last:
            text = STATE.last.removeprefix("Flowreel: ")  # the panel says Flowreel already
            box.label(text=text, icon="ERROR" if STATE.last_kind == "ERROR" else "INFO")


CLASSES = (FLOWREEL_OT_fit, FLOWREEL_OT_fit_object, FLOWREEL_OT_render_film, FLOWREEL_OT_fit_cancel,
           FLOWREEL_OT_job_report)
