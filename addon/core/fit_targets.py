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

from .jobs import QUALITY, JobError, check_picture, fit_command, read_head
from .shapes3d import FILLS, MESH_SUFFIXES, POINT_SUFFIXES, SHAPE_SUFFIXES  # noqa: F401 (what `trainer fit` reads)

FRAMES_PER_MOVE = 72  # the trainer's default (trainer/cli_sequence.py): 3 s at 24 fps per move


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
        except JobError as e:
            if "not a picture" not in str(e):
                raise
            raise JobError(f"{p.name}: not a picture (PNG, JPEG, GIF, BMP, TIFF or WebP) nor a 3-D target "
                           f"({' '.join(SHAPE_SUFFIXES)})") from None  # fmt: skip
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


def safe_name(stem: str) -> str:
    """A name for a folder or file: an object's name may hold anything."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "target"


def steps_for(quality: str, method: str, steps: int) -> int:
    """The steps a fit runs: the quality's when 0 (so draft and final are different runs)."""
    return steps or QUALITY[quality][method]


def run_dir_for_bytes(runs: str | os.PathLike, stem: str, data: bytes, method: str, seed: int, steps: int,
                      fill: str | None = None) -> Path:
    """The run folder of a target given by its bytes (a file, an object's mesh): the same bytes and
    settings are the same folder, an edited target another."""
    tail = f"-{fill}" if fill == "volume" else ""  # surface is the trainer's default: no suffix, as before
    return Path(runs) / f"{safe_name(stem)}-{_digest(data)}-{method}-s{seed}-{steps}{tail}"


def sequence_run_dir(runs: str | os.PathLike, pictures: Sequence[Path], start: str, via: str, seed: int,
                     steps: int) -> Path:
    """A sequence's folder (its sequence.json and film): every picture's bytes in order and the options.
    Its flows live beside it under the runs folder, by content, shared with other films (trainer.sequence)."""
    h = hashlib.sha256()
    for p in pictures:
        h.update(hashlib.sha256(Path(p).read_bytes()).digest())
    h.update(f"{start}|{via}|{seed}|{steps}".encode())
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
                fill: str | None = None) -> FitPlan:
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
    return FitPlan(argv, export, "resume" if "--resume" in argv else "fit")


def plan_sequence(trainer: list[str], pictures: Sequence[Path], runs: Path, seq: Path, *, quality: str, steps: int,
                  seed: int, start: str, via: str) -> FitPlan:
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
            "--eval-samples", str(q["eval_samples"]), "--progress", "json"]  # fmt: skip
    return FitPlan(argv, export, "fit")
