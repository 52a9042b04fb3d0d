"""`trainer movie`: image in, film out. Fit (or reuse a matching run), export, render, encode.

Reuse is by content: the run directory is named after the image's sha256 and the fit settings,
so the same picture with the same settings never trains twice, and an interrupted fit resumes.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from flowreel.addon.core import background, trajformat
from flowreel.addon.core.contract import runs
from flowreel.addon.core.contract.quality import QUALITY as FIT_QUALITY
from flowreel.addon.core.contract.render_quality import RENDER_QUALITY
from flowreel.addon.core.contract.shapes3d import SHAPE_SUFFIXES
from flowreel.addon.core.encode import verify
from flowreel.addon.core.errors import FlowreelError
from flowreel.addon.core.frames import default_frames_dir
from flowreel.addon.core.lock import folder_lock

from ..fit.loop import DEFAULTS, FitConfig, fit
from ..fit.runs import load_run
from ..flow import trajfile
from ..flow.export import export_trajectories
from ..targets.registry import load_target, load_text_target
from ..targets.text import text_name
from .launch import LaunchError, run_render
from .sheet import contact_sheet


# What each quality buys: the fit and particles here, the render's settings in the core's one declaration
# (addon/core/contract/render_quality.py: the render script takes --quality too). Draft: a few minutes for a film on a
# small CPU; final: chosen by measured image quality per second (bench/RESULTS.md). fit_steps: flow-matching
# steps when --steps is not given (None = the method's default). With exact landing the fit sets only the
# motion, not the end; the shorter draft fit is measured in bench/RESULTS.md.
def _quality(name: str, fit_steps: int | None, particles: int) -> dict:
    f = RENDER_QUALITY[name]["flags"]
    return {"fit_steps": fit_steps, "particles": particles, "resolution": f["resolution"],
            "engine": f["engine"].lower(), "samples": f["samples"], "denoise": f["denoise"],
            "motion_blur": f["motion_blur"]}


# final's fit: the method's own steps (fm: FIT_QUALITY's 5000)
QUALITY: dict[str, dict] = {"draft": _quality("draft", FIT_QUALITY["draft"]["fm"], FIT_QUALITY["draft"]["particles"]),
                            "final": _quality("final", None, FIT_QUALITY["final"]["particles"])}


class MovieError(FlowreelError, RuntimeError):
    """A stage of the movie failed; the message is one line."""


@dataclass
class MovieSettings:
    image: Path | None  # None with `text`
    output: Path
    quality: str = "draft"
    look: str = "glow"
    seconds: float = 5.0
    fps: int = 24
    hold_start: float = 0.5
    hold_end: float = 1.0
    resolution: tuple[int, int] | None = None  # None = the quality's
    easing: str = "EASE_IN_OUT"
    camera: str | None = None  # None = ORBIT for a 3-D target (the shot a flat picture cannot give), else STATIC
    orbit_degrees: float = 0.0  # the orbit's total turn; 0 = automatic (40 for pictures, 360 for 3-D)
    depth_of_field: bool = False  # focus on the framed picture or shape (the camera's dof)
    framing: str = "PICTURE"  # PICTURE fills the frame with the picture at the end; ALL keeps every particle in view
    front: str = "AUTO"  # a 3-D film's last view: AUTO = the file's front (the largest face of the shape's box)
    margin: float = 0.08  # free space around the framed box, a fraction of the half-frame
    background: str = ""  # "" = the look's own; transparent, #rrggbb or a picture (core/background.py)
    color_start: str = ""  # colour and size over time (core/over_time.py): "" = the picture's from the start
    size_start: float = 1.0
    size_end: float = 1.0
    trail: float = 0.0  # seconds of ghosts behind moving particles (addon/scene/trails.py)
    gif: bool = False
    particles: int | None = None  # None = the quality's
    samples: int | None = None  # None = the quality's
    seed: int = 0
    landing: str = "exact"  # "exact": the film ends on exact picture samples; "flow": on the flow's own ends
    turbulence: float = 0.0  # curl noise on the paths, world units (trainer/flow/turbulence.py); 0 = none
    turbulence_scale: float = 1.5
    runs_root: Path = Path("runs")
    blender: str | None = None
    cluster: str | None = None  # a Ray address: frames (and a sequence's fits) on a cluster (trainer/cluster/)
    fit_config: FitConfig = field(default_factory=FitConfig)
    # + "depth" / "fill" for a 3-D target, only when given, so a picture's run key stays what it was
    density_options: dict = field(default_factory=lambda: {"invert": False, "threshold": None, "max_side": 512})
    text: str | None = None  # words drawn as the picture instead of `image` (trainer/targets/text.py)
    font: Path | None = None  # their TrueType/OpenType font (None: the bundled DejaVu Sans Bold)


@dataclass
class MovieResult:
    files: list[Path]
    stage_seconds: dict[str, float]
    excess_tv: float | None
    reused_fit: bool
    metrics: dict | None = None  # the fit's metrics.json (3-D quality: Chamfer and coverage)


def run_dir_for(target_sha256: str, stem: str, settings: MovieSettings, kind: str | None = None) -> Path:
    """The run directory of a fit: the same target bytes, reading and fit settings give the same directory, on
    either side (core/contract/runs.py; Fit Picture in Blender names its runs the same way)."""
    return runs.run_dir(settings.runs_root, stem, kind or reading_kind(settings), target_sha256,
                        settings.density_options, fit_key(settings.fit_config))


def reading_kind(settings: MovieSettings) -> str:
    """How the target of `settings` is read (its reading version is in the run key): text, slab, 3d or picture."""
    image = getattr(settings, "image", None)
    if getattr(settings, "text", None) is not None:
        return "text"
    if settings.density_options.get("depth") is not None:
        return "slab"
    return "3d" if image is not None and Path(image).suffix.lower() in SHAPE_SUFFIXES else "picture"


def fit_key(config: FitConfig) -> dict:
    """What a fit learns, for its run key: method, steps (the method's when None), seed, and every other setting
    that is off its default; not where or how fast it trains (checkpoints.HOW_NOT_WHAT)."""
    from ..fit.checkpoints import HOW_NOT_WHAT

    default, mine = asdict(FitConfig(method=config.method)), asdict(config)
    skip = {*HOW_NOT_WHAT, "method", "steps", "seed", "dim"}
    steps = config.steps if config.steps is not None else DEFAULTS[config.method]["steps"]
    return {"method": config.method, "steps": int(steps), "seed": config.seed,
            **{k: v for k, v in mine.items() if k not in skip and v != default.get(k)}}


def _stage(n: int, name: str, detail: str) -> None:
    print(f"[{n}/3] {name}: {detail}", flush=True)


def make_movie(s: MovieSettings) -> MovieResult:
    """Run every stage; returns what was written and how long each stage took."""
    if s.quality not in QUALITY:
        raise MovieError(f"--quality must be one of {', '.join(QUALITY)}, got {s.quality!r}")
    q = QUALITY[s.quality]
    if s.landing not in ("exact", "flow"):
        raise MovieError(f"--landing must be exact or flow, got {s.landing!r}")
    particles = s.particles or q["particles"]
    out = s.output.resolve()
    check_film_output(out, s)
    join_cluster(s)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not os.access(out.parent, os.W_OK):
        raise MovieError(f"{out.parent}: output folder is not writable")

    if s.fit_config.steps is None and s.fit_config.method == "fm" and q.get("fit_steps"):
        s = replace(s, fit_config=replace(s.fit_config, steps=q["fit_steps"]))  # before the run key is made
    times: dict[str, float] = {}
    if s.text is not None:  # words drawn as the picture; their key is the text, the font's sha256 and the size
        density, stem = load_text_target(s.text, s.font, **s.density_options), text_name(s.text)
    else:  # a picture, or a mesh / point cloud / picture with depth
        density, stem = load_target(s.image, **s.density_options), Path(s.image).stem
        if getattr(density, "frame_info", (0, 1))[1] > 1:  # an animation: say which of its frames the film shows
            _stage(1, "fit", f"{density.name}: {density.describe()}")
    run_dir = run_dir_for(density.sha256, stem, s)

    # One process at a time fits and exports a run folder; a second `trainer movie` of the same picture waits,
    # then reuses the fit and the export instead of rewriting the file the first one renders from.
    with folder_lock(run_dir, "fitting or exporting", say=lambda m: _stage(1, "fit", m)):
        traj_path, reused = _fit_and_export(s, density, run_dir, particles, times)
    metrics = json.loads((run_dir / "metrics.json").read_text())

    t0 = time.perf_counter()
    files = render_film(s, traj_path, out)
    times["render"] = time.perf_counter() - t0
    return MovieResult(files, times, metrics.get("excess_tv"), reused, metrics)


def _fit_and_export(s: MovieSettings, density, run_dir: Path, particles: int, times: dict[str, float]
                    ) -> tuple[Path, bool]:
    """Stages 1 and 2 in a run folder held by this process: the trajectory file, and whether the fit was reused."""
    t0 = time.perf_counter()
    reused = (run_dir / "metrics.json").exists()
    if reused:
        _stage(1, "fit", f"reusing {run_dir} (same image and settings)")
    else:
        resume = (run_dir / "checkpoint.pt").exists()
        _stage(1, "fit", f"{'resuming' if resume else 'training'} {s.fit_config.method} into {run_dir}")
        run_dir.mkdir(parents=True, exist_ok=True)
        fit(density, s.fit_config, run_dir, resume=resume)
    times["fit"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    n_frames = max(241, int(round(s.seconds * s.fps)) + 1)
    # The landing is in the name: a cached export with the other landing is a different film.
    traj_path = run_dir / f"traj-{particles}x{n_frames}-seed{s.seed}-{s.landing}{turbulence_tag(s)}.npz"
    if traj_path.exists():
        _stage(2, "export", f"reusing {traj_path}")
    else:
        _stage(2, "export", f"{particles} particles x {n_frames} frames -> {traj_path}")
        run = load_run(run_dir)
        trajfile.write(traj_path, export_trajectories(run, particles, n_frames, seed=s.seed, landing=s.landing,
                                                      turbulence=s.turbulence, turbulence_scale=s.turbulence_scale))
    times["export"] = time.perf_counter() - t0
    return traj_path, reused


def join_cluster(s: MovieSettings) -> None:
    """With --cluster: reach it now, so an address that does not answer is one line before anything is
    written or fitted (Ray is imported only here)."""
    if s.cluster:
        from ..cluster.connect import connect

        connect(s.cluster)


def turbulence_tag(s: MovieSettings) -> str:
    """The part of an export's cached name that its turbulence makes (none without)."""
    return f"-turb{s.turbulence:g}x{s.turbulence_scale:g}" if s.turbulence > 0 else ""


def check_film_output(out: Path, s: MovieSettings) -> None:
    """The film's name must be one the render script writes, and keep the background asked for."""
    try:
        background.check_output(out, background.parse_background(s.background), s.gif)
    except background.BackgroundError as e:
        raise MovieError(str(e)) from None
    if not background.is_folder_output(out) and out.suffix.lower() not in (".mp4", ".mov", ".mkv", ".webm"):
        raise MovieError(f"{out.name}: the film must be .mp4, .mov (ProRes 4444), .webm (VP9) or a folder for PNG "
                         "frames (add --gif for a GIF beside it)")


def render_film(s: MovieSettings, traj_path: Path, out: Path, seconds: float | None = None) -> list[Path]:
    """Stage 3: render `traj_path` with the add-on's script, encode, and add a contact sheet; the files.

    `seconds`: the render's --seconds (default s.seconds; a sequence passes its seconds per move, which
    its file's timeline also records).
    """
    q = QUALITY[s.quality]
    resolution = s.resolution or q["resolution"]
    args = [
        str(traj_path),
        "--output", str(out),
        "--look", s.look,
        "--quality", s.quality,  # the settings without a flag of their own; the flags below say the rest
        "--engine", q["engine"],
        "--samples", str(s.samples or q["samples"]),
        "--denoise", q["denoise"],
        "--resolution", f"{resolution[0]}x{resolution[1]}",
        "--fps", str(s.fps),
        "--seconds", str(s.seconds if seconds is None else seconds),
        "--hold-start", str(s.hold_start),
        "--hold-end", str(s.hold_end),
        "--easing", s.easing,
        "--camera", s.camera or _default_camera(traj_path),
        "--orbit-degrees", str(s.orbit_degrees),
        "--framing", s.framing,
        f"--front={s.front}",  # "-Y" would read as an option
        "--margin", str(s.margin),
        "--replace-changed",  # frames left by a film with other settings are stale; same settings resume
    ]  # fmt: skip
    if q["motion_blur"]:
        args.append("--motion-blur")
    if s.depth_of_field:
        args.append("--depth-of-field")
    if s.gif:
        args.append("--gif")
    if s.background:
        args += ["--background", s.background]
    if s.color_start:
        args += ["--color-start", s.color_start]
    args += ["--size-start", str(s.size_start), "--size-end", str(s.size_end), "--trail", str(s.trail)]
    _stage(3, "render", f"{q['engine']} {resolution[0]}x{resolution[1]} -> {out}")
    try:
        if s.cluster:
            from ..cluster.render import cluster_render

            code = cluster_render(args, s.cluster, s.blender)
        else:
            code = run_render(args, s.blender)
    except LaunchError as e:
        raise MovieError(str(e)) from None
    if code != 0:
        raise MovieError(f"render failed (exit {code}); frames rendered so far are kept, run again to resume")

    files = [out] + ([out.with_suffix(".gif")] if s.gif else [])
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        raise MovieError(f"render finished but did not write {', '.join(missing)}")
    folder = background.is_folder_output(out)  # a PNG-sequence film is its own frames folder
    if not folder:
        verify(str(out), None)  # "done" only for a film that decodes (the render checked its frame count)
    # The render script's frames folder; a sheet of t = 0 .. 1 to judge the film at a glance.
    frames = out if folder else default_frames_dir(out)
    files.append(contact_sheet(frames, out.with_name(f"{out.stem}_sheet.png")))
    return files


def _default_camera(traj_path: Path) -> str:
    return "ORBIT" if trajformat.read(traj_path, mmap=True, check_finite=False).dim == 3 else "STATIC"


def summary(result: MovieResult) -> str:
    """The closing lines of `trainer movie`: files, sizes, stage times, fit quality."""
    lines = ["done:"]
    for f in result.files:
        size = sum(p.stat().st_size for p in f.iterdir() if p.is_file()) if f.is_dir() else f.stat().st_size
        lines.append(f"  {f}{'/' if f.is_dir() else ''}  ({size / 1e6:.2f} MB)")  # a PNG-sequence film: its frames
    lines.append("  " + ", ".join(f"{k} {v:.1f} s" for k, v in result.stage_seconds.items()))
    if result.excess_tv is not None:
        lines.append(f"  fit quality: excess TV {result.excess_tv:.3f} (0 = as good as sampling the picture)")
    m = result.metrics or {}
    if "chamfer" in m:
        lines.append(f"  fit quality: Chamfer {m['chamfer']:.4f} (floor {m['chamfer_floor']:.4f}), coverage "
                     f"{m['coverage']:.3f} (floor {m['coverage_floor']:.3f})")  # fmt: skip
    return "\n".join(lines)
