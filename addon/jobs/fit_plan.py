"""What a fit started from Blender fits, and where: a picture, a 3-D file, a Blender object's mesh, or a
sequence of pictures; the run folder (by content) and the trainer command line, or nothing to run at all.

No bpy, no torch (the add-on's Python has neither torch nor trimesh): a target is checked here only as far
as a one-line error before a child starts needs (a picture by its first bytes, a 3-D file by its suffix and
a readable, non-empty file); the trainer reads it for real and says in one line what is wrong with it.

Reuse: a run folder is keyed by the target's bytes and the fit settings, so the same target fitted again
is the same folder. A finished run whose trajectory file is there imports at once (no child); a finished
run without it is only exported (`trainer export`); a fit stopped by Cancel resumes (jobs.fit_command).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core.contract.runs import run_dir, safe_name
from ..core.contract.shapes3d import FILLS, MESH_SUFFIXES, POINT_SUFFIXES, SHAPE_SUFFIXES  # noqa: F401 (what `trainer fit` reads)
from .runner import QUALITY, JobError, NotAPictureError, check_picture, fit_command, read_head

FRAMES_PER_MOVE = 72  # the trainer's default (trainer/cli/sequence.py): 3 s at 24 fps per move
CROP = "ink"  # `trainer fit --crop`'s default: a picture is read as its ink's box (trainer/targets/picture_crop.py)


def picture_flags(crop: str | None = None, frame: int | None = None) -> list[str]:
    """How the trainer reads a picture (--crop, --frame), always spelled out so that the run folder's key
    (picture_key) and the fit it holds agree whatever the trainer's defaults."""
    return ["--crop", crop or CROP] + ([] if frame is None else ["--frame", str(int(frame))])


def is_shape(path: str | os.PathLike) -> bool:
    """A 3-D target by its suffix (a mesh or a point cloud)."""
    return Path(path).suffix.lower() in SHAPE_SUFFIXES


def check_target(path: str | os.PathLike) -> Path:
    """A picture (by its first bytes, jobs.check_picture) or a 3-D file the trainer reads (by its suffix,
    readable and not empty); JobError with one line otherwise."""
    p = Path(path)
    if not is_shape(p):
        try:
            return check_picture(p)
        except NotAPictureError:
            raise NotAPictureError(f"{p.name}: not a picture (PNG, JPEG, GIF, BMP, TIFF, WebP or SVG) nor a 3-D "
                                   f"target ({' '.join(SHAPE_SUFFIXES)})") from None  # fmt: skip
    if not read_head(p, 1, "3-D target"):
        raise JobError(f"{p.name}: an empty file, not a 3-D target")
    return p


def _natural(path: Path) -> list:
    """Sort key by name with numbers in order: frame2.png before frame10.png."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


def check_sequence(paths: Sequence[str | os.PathLike]) -> list[Path]:
    """Two or more pictures of a sequence, sorted by name (a file browser's order is not the user's);
    each checked, a 3-D file or a repeat refused in one line."""
    checked = []
    for path in paths:
        if is_shape(path):
            raise JobError(f"{Path(path).name}: a sequence is made of pictures; fit a 3-D target on its own")
        checked.append(check_picture(path))
    if len(checked) < 2:
        raise JobError("a sequence needs two or more pictures")
    names = [p.name for p in checked]
    if len(set(map(str, checked))) != len(checked):
        raise JobError(f"{next(n for n in names if names.count(n) > 1)}: chosen twice")
    return sorted(checked, key=_natural)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:10]


def steps_for(quality: str, method: str, steps: int) -> int:
    """The steps a fit runs: the quality's when 0 (so draft and final are different runs)."""
    return steps or QUALITY[quality][method]


def run_dir_for_bytes(runs: str | os.PathLike, stem: str, data: bytes, method: str, seed: int, steps: int,
                      fill: str | None = None, *, crop: str | None = None, frame: int | None = None) -> Path:
    """The run folder of a target given by its bytes (a file, an object's mesh): the same bytes and
    settings are the same folder, an edited target another, and the very folder `trainer movie` fits the same
    target in (core/contract/runs.py). `fill` None is a picture, read with `crop` and `frame`; a 3-D target has a
    fill."""
    reading = {"crop": crop or CROP, "frame": frame} if fill is None else {"fill": fill}
    return run_dir(runs, stem, "picture" if fill is None else "3d", hashlib.sha256(data).hexdigest(), reading,
                   {"method": method, "steps": steps, "seed": seed})


def sequence_run_dir(runs: str | os.PathLike, pictures: Sequence[Path], start: str, via: str, seed: int,
                     steps: int, crop: str | None = None) -> Path:
    """A sequence's folder (its sequence.json and film): every picture's bytes in order and the options.
    Its flows live beside it under the runs folder, by content, shared with other films (trainer.sequence.plan)."""
    h = hashlib.sha256()
    for p in pictures:
        h.update(hashlib.sha256(Path(p).read_bytes()).digest())
    h.update(f"{start}|{via}|{seed}|{steps}|{crop or CROP}".encode())
    names = "-".join(safe_name(p.stem) for p in pictures[:3]) + ("-etc" if len(pictures) > 3 else "")
    return Path(runs) / f"seq-{names}-{h.hexdigest()[:10]}-{start}-{via}-s{seed}-{steps}"


@dataclass
class FitPlan:
    """What to do for a fit: run `argv` (a child whose end writes `export`), or nothing (argv None:
    `export` is there already). `how`: fit, resume, export (the fit is done, only its film is missing) or reuse."""

    argv: list[str] | None
    export: Path
    how: str


def _export_name(quality: str) -> str:
    q = QUALITY[quality]
    return f"traj-p{q['particles']}-f{q['frames']}.npz"  # a draft's film is not a final's


def plan_single(trainer: list[str], target: Path, run: Path, *, method: str, quality: str, steps: int, seed: int,
                fill: str | None = None, crop: str | None = None, frame: int | None = None) -> FitPlan:
    """The plan for one target (picture or 3-D) in its run folder."""
    q = QUALITY[quality]
    export = run / _export_name(quality)
    if (run / "metrics.json").exists():
        if export.is_file():
            return FitPlan(None, export, "reuse")
        argv = [*trainer, "export", str(run), "--export", str(export), "--particles", str(q["particles"]),
                "--frames", str(q["frames"]), "--progress", "json"]  # fmt: skip
        return FitPlan(argv, export, "export")
    argv, _ = fit_command(trainer, target, run, method=method, quality=quality, steps=steps, seed=seed)
    argv[argv.index("--export") + 1] = str(export)
    if fill == "volume" or (fill == "surface" and Path(target).suffix.lower() in MESH_SUFFIXES):
        argv[len(trainer) + 2:len(trainer) + 2] = ["--fill", fill]
    if not is_shape(target):
        argv[len(trainer) + 2:len(trainer) + 2] = picture_flags(crop, frame)
    return FitPlan(argv, export, "resume" if "--resume" in argv else "fit")


def plan_sequence(trainer: list[str], pictures: Sequence[Path], runs: Path, seq: Path, *, quality: str, steps: int,
                  seed: int, start: str, via: str, crop: str | None = None) -> FitPlan:
    """The plan for a sequence: `trainer fit A B ... --out SEQ --runs-dir RUNS --export`. Its flows are
    kept by content under the runs folder, so the trainer itself reuses finished ones and resumes a
    cancelled one; a finished sequence whose film is there imports at once."""
    q = QUALITY[quality]
    per_move = min(FRAMES_PER_MOVE, q["frames"])
    export = seq / f"seq-p{q['particles']}-f{per_move}.npz"
    if (seq / "sequence.json").exists() and export.is_file():
        return FitPlan(None, export, "reuse")
    argv = [*trainer, "fit", *map(str, pictures), "--out", str(seq), "--runs-dir", str(runs), "--method", "fm",
            "--steps", str(steps), "--seed", str(seed), "--start", start, "--via", via, "--export", str(export),
            "--particles", str(q["particles"]), "--frames-per-move", str(per_move),
            "--eval-samples", str(q["eval_samples"]), *picture_flags(crop), "--progress", "json"]  # fmt: skip
    return FitPlan(argv, export, "fit")


# ---- text: `trainer fit --text WORDS [--font FILE]` ----------------------------------------------------------
_FONT_MAGIC = (b"\x00\x01\x00\x00", b"OTTO", b"true", b"ttcf")  # TrueType, OpenType (CFF), Mac TrueType, collection


def check_text(text: str, font: str | os.PathLike | None) -> tuple[str, Path | None]:
    """The words of a text fit and its font file (None: the trainer's bundled font), the font checked by its
    first bytes; JobError with one line otherwise (the trainer says what else is wrong with either)."""
    words = " ".join(str(text or "").split())
    if not words:
        raise JobError("Fit Text: type the words to draw")
    if not font:
        return words, None
    p = Path(font)
    if not read_head(p, 4, "font", missing="no such font").startswith(_FONT_MAGIC):
        raise JobError(f"{p.name}: not a TrueType or OpenType font (.ttf, .otf)")
    return words, p


def text_run_dir(runs: str | os.PathLike, text: str, font: Path | None, method: str, seed: int, steps: int) -> Path:
    """A text fit's run folder, keyed like the trainer's (trainer/targets/text.py): the words and the font's bytes."""
    font_key = hashlib.sha256(font.read_bytes()).hexdigest() if font else "bundled"
    name = safe_name("text-" + text[:24])
    return Path(runs) / f"{name}-{_digest(f'{text}|{font_key}'.encode())}-{method}-s{seed}-{steps}"


def plan_text(trainer: list[str], text: str, font: Path | None, run: Path, *, method: str, quality: str, steps: int,
              seed: int) -> FitPlan:
    """The plan for a text fit: `trainer fit --text=WORDS [--font=FILE] --out RUN ...` (the `=` form, so that
    words starting with '-' stay words), or the reuse or export of a finished one, as for a picture."""
    if (run / "metrics.json").exists():  # reuse or export: neither names the target
        return plan_single(trainer, Path("text"), run, method=method, quality=quality, steps=steps, seed=seed)
    argv, _ = fit_command(trainer, f"--text={text}", run, method=method, quality=quality, steps=steps, seed=seed)
    export = run / _export_name(quality)
    argv[argv.index("--export") + 1] = str(export)
    if font is not None:
        argv.insert(len(trainer) + 2, f"--font={font}")
    return FitPlan(argv, export, "resume" if "--resume" in argv else "fit")
