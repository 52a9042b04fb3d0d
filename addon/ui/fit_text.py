"""Fit Text…: words (in the bundled DejaVu Sans Bold or a chosen .ttf/.otf) fitted by the trainer like a picture,
`trainer fit --text`, from a dialog; the film imports at the end. The job, its timer and the import are
fit_ops's; what is run and where (the run folder keyed by the words and the font's bytes) is jobs.fit_plan.
"""

import bpy
from bpy.props import StringProperty

from ..jobs import fit_plan as fit_targets
from ..jobs.runner import JobError, resolve_command
from . import fit_ops
from . import prefs as _prefs


def start_text(op, context, text: str, font: str, method: str, quality: str, steps: int, seed: int,
               look: str) -> set:
    """Check the words and the font, then launch `trainer fit --text` as a child; the scene is untouched until
    it ends. A finished fit of the same words and font imports at once."""
    if fit_ops._busy(op):
        return {"CANCELLED"}
    p = _prefs.get(context)
    try:
        words, font_path = fit_targets.check_text(text, bpy.path.abspath(font) if font else None)
        trainer = resolve_command(p.trainer)
        steps = fit_targets.steps_for(quality, method, steps)
        run = fit_targets.text_run_dir(_prefs.runs_dir(p), words, font_path, method, seed, steps)
        run.mkdir(parents=True, exist_ok=True)
        plan = fit_targets.plan_text(trainer, words, font_path, run, method=method, quality=quality, steps=steps,
                                     seed=seed)  # fmt: skip
    except JobError as e:
        op.report({"ERROR"}, str(e))
        return {"CANCELLED"}
    except OSError as e:  # the runs folder cannot be made, the font cannot be read
        op.report({"ERROR"}, f"Flowreel: {e.filename}: {e.strerror}")
        return {"CANCELLED"}
    return fit_ops._run(op, plan, run, f'"{words}"', look)


class FLOWREEL_OT_fit_text(fit_ops._FitOptions, bpy.types.Operator):
    """Fit a flow to words drawn in a font (DejaVu Sans Bold, or a TrueType/OpenType file), then import the
    result. The same words in the same font are fitted once"""

    bl_idname = "flowreel.fit_text"
    bl_label = "Fit Text…"
    bl_options = {"REGISTER"}

    text: StringProperty(name="Text", description="The words to draw; a typed \\n breaks the line", default="")
    font: StringProperty(name="Font", subtype="FILE_PATH", default="",
                         description="A TrueType or OpenType font file (empty = DejaVu Sans Bold, shipped)")

    def invoke(self, context, event):
        self._defaults(context)
        return context.window_manager.invoke_props_dialog(self)

    def draw(self, context):
        for name in ("text", "font", "method", "quality", "steps", "seed", "look"):
            self.layout.prop(self, name)

    def execute(self, context):
        return start_text(self, context, self.text, self.font, self.method, self.quality, self.steps, self.seed,
                          self.look)  # fmt: skip


CLASSES = (FLOWREEL_OT_fit_text,)
