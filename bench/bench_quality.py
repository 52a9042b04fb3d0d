"""Image quality per second: which render settings buy the final film's look at the least cost (issue 19).

    .venv/bin/python bench/bench_quality.py --resolution 960x540 --ref-samples 512 --repeats 1   # the sweep
    .venv/bin/python bench/bench_quality.py --before-after 1920x1080 --repeats 2    # old final vs new, 2 frames
    .venv/bin/python bench/bench_quality.py --film-slices TRAJ --every 10           # a real film, sampled frames
    .venv/bin/python bench/bench_quality.py --quick                                 # a smoke run

For each film (the glow, ink and neon looks on a picture; a 3-D shape with depth of field, orbit and the
glow look), all with motion blur as `--quality final` renders them, a reference frame is rendered at a very
high sample count with no denoiser (mid-flight and at rest), then every candidate setting (Cycles settings,
Workbench, EEVEE, and the splat engine, addon/render/splat/) is rendered
and scored against it: SSIM (own code below, on luminance, Gaussian window as Wang et al. 2004) and FLIP
(NVIDIA's perceptual difference, the `flip-evaluator` wheel: no torch, no downloaded weights; LPIPS
needs a torch model download, so it is not used). Candidates are rendered interleaved (every
candidate's mid-flight frame, then every candidate's resting frame, in a shuffled order) and the time is
the median over renders, because other jobs share the machine. The scene is built once per film exactly
like addon/render/__main__.py does (render_args, build_scene, configure_engine), and each candidate changes only
the settings it names. Writes bench/results/quality.md, quality_<film>.png (SSIM and FLIP against
seconds per frame) and crops of the reference and chosen settings side by side (crops_<film>.png).
Needs matplotlib and flip-evaluator (bench/requirements.txt).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
RESULTS = REPO / "bench" / "results"


# ---- the films ---------------------------------------------------------------------------------
def sphere_traj(path: Path, n: int, n_frames: int, seed: int = 0) -> Path:
    """noise -> a torus knot's tube surface (a 3-D shape with depth to blur), coloured by height."""
    from flowreel.addon.core import trajformat

    rng = np.random.default_rng(seed)
    u, v = rng.uniform(0, 2 * np.pi, n), rng.uniform(0, 2 * np.pi, n)
    p, q = 2, 3
    r = np.cos(q * u) + 2.5
    centre = np.c_[r * np.cos(p * u), r * np.sin(p * u), -np.sin(q * u)]
    end = centre + 0.45 * np.c_[np.cos(v) * np.cos(p * u), np.cos(v) * np.sin(p * u), np.sin(v)]
    end *= 4.0 / np.abs(end).max()
    start = rng.normal(size=(n, 3))
    t = np.linspace(0.0, 1.0, n_frames)
    pos = np.empty((n_frames, n, 3), np.float32)
    for k, tk in enumerate(t):
        a = 1.5 * np.sin(np.pi * tk)
        pk = start * (1 - tk) + end * tk
        pos[k] = np.c_[pk[:, 0] * np.cos(a) - pk[:, 1] * np.sin(a), pk[:, 0] * np.sin(a) + pk[:, 1] * np.cos(a),
                       pk[:, 2]]
    h = (end[:, 2] - end[:, 2].min()) / np.ptp(end[:, 2])
    colors = np.c_[255 * h, 120 + 100 * (1 - h), 255 * (1 - h), np.full(n, 255)].astype(np.uint8)
    lo, hi = end.min(axis=0), end.max(axis=0)
    ext = [float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]), float(lo[2]), float(hi[2])]
    trajformat.write(path, trajformat.Trajectory(pos, t.astype(np.float32), {"extent": ext}, colors))
    return path


FILMS = {  # name -> (look, 3-D?, extra render flags)
    "glow": ("glow", False, []),
    "ink": ("ink", False, []),
    "neon": ("neon", False, []),
    "3d": ("glow", True, ["--depth-of-field", "--camera", "orbit"]),
}


# ---- the candidates ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Cand:
    name: str
    group: str  # the plot's colour: what kind of setting this is
    samples: int = 64
    adaptive: float = 0.02  # 0 = adaptive sampling off
    denoise: str = "oidn"  # "oidn" (in the render), "comp" (compositor Denoise node), "off"
    dq: str = "HIGH"  # OIDN quality
    passes: str = "RGB_ALBEDO_NORMAL"
    prefilter: str = "ACCURATE"
    glare: str = "Medium"
    blur: str = "steps"  # "steps": Cycles motion blur; "vector": compositor Vector Blur; "off"
    motion_steps: int = 1  # the object's deformation motion steps (Cycles: 2^(steps-1)+1 positions)
    scale: int = 100  # resolution percentage; < 100 = upscaled with Lanczos after the render
    engine: str = "cycles"
    points: float = 1.0  # fraction of the particles rendered (auto radius grows as the count falls)
    supersample: int = 2  # splat engine: fine cells per pixel side
    extra: dict = field(default_factory=dict, hash=False, compare=False)


TODAY = Cand("today: 64 spp, OIDN high", "today")


def candidates(quick: bool) -> list[Cand]:
    """Today's final, then each kind of setting around a cheap base (16 samples, no denoiser: the quick run
    showed OpenImageDenoise softening sub-pixel points more than it removes noise)."""
    c = [TODAY]
    for s in (4, 8, 16, 32, 64):
        c.append(Cand(f"{s} spp, no denoise", "samples", samples=s, denoise="off"))
    for s in (8, 16, 32):
        c.append(Cand(f"{s} spp, adaptive 0.1, no denoise", "adaptive threshold", samples=s, adaptive=0.1,
                      denoise="off"))
    c.append(Cand("32 spp, adaptive off, no denoise", "adaptive threshold", samples=32, adaptive=0, denoise="off"))
    for s in (8, 16):
        for dq in ("FAST", "BALANCED", "HIGH"):
            c.append(Cand(f"{s} spp, OIDN {dq.lower()}", "OIDN quality", samples=s, dq=dq))
    c.append(Cand("16 spp, OIDN fast, RGB only", "OIDN passes", samples=16, dq="FAST", passes="RGB",
                  prefilter="NONE"))
    c.append(Cand("16 spp, OIDN fast, albedo+normal, no prefilter", "OIDN passes", samples=16, dq="FAST",
                  prefilter="NONE"))
    c.append(Cand("16 spp, compositor denoise", "compositor denoise", samples=16, denoise="comp"))
    base = {"samples": 16, "denoise": "off"}
    c.append(Cand("16 spp, glare low", "glare", glare="Low", **base))
    c.append(Cand("16 spp, glare high", "glare", glare="High", **base))
    c.append(Cand("16 spp, vector blur", "motion blur", blur="vector", **base))
    c.append(Cand("16 spp, 3 motion steps", "motion blur", motion_steps=3, **base))
    c.append(Cand("16 spp, no motion blur", "motion blur", blur="off", **base))
    c.append(Cand("16 spp, half the points", "points vs radius", points=0.5, **base))
    c.append(Cand("16 spp, 70 % res + Lanczos", "resolution", scale=70, **base))
    c.append(Cand("32 spp, 50 % res + Lanczos", "resolution", scale=50, samples=32, denoise="off"))
    c.append(Cand("workbench + glow", "workbench", engine="workbench", denoise="off"))
    c.append(Cand("eevee 16 spp + glow", "eevee", engine="eevee", samples=16, denoise="off"))
    for ss in (1, 2, 3):
        c.append(Cand(f"splat, {ss}x{ss} fine cells a pixel", "splat (no path tracing)", engine="splat",
                      denoise="off", supersample=ss))
    c.append(Cand("splat 2x2, no motion blur", "splat (no path tracing)", engine="splat", denoise="off",
                  blur="off"))
    if quick:
        keep = {TODAY.name, "8 spp, no denoise", "8 spp, OIDN fast", "16 spp, vector blur",
                "32 spp, 50 % res + Lanczos", "workbench + glow", "splat, 2x2 fine cells a pixel"}
        c = [x for x in c if x.name in keep]
    return c


# ---- metrics -----------------------------------------------------------------------------------
def luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., :3] @ np.array([0.2126, 0.7152, 0.0722])


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two RGB images in [0, 1] on luminance, 11-tap Gaussian window (sigma 1.5)."""
    from scipy.ndimage import gaussian_filter

    x, y = luminance(a), luminance(b)
    c1, c2 = 0.01**2, 0.03**2

    def g(z):
        return gaussian_filter(z, 1.5, truncate=3.5)

    mx, my = g(x), g(y)
    vx, vy, cxy = g(x * x) - mx * mx, g(y * y) - my * my, g(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(s.mean())


def flip(ref: np.ndarray, test: np.ndarray) -> float:
    """Mean FLIP error (0 = identical; LDR sRGB, 67 pixels per degree: a desktop monitor)."""
    import flip_evaluator

    return float(flip_evaluator.evaluate(ref.astype(np.float32), test.astype(np.float32), "LDR")[1])


def read_png(path: Path, size: tuple[int, int] | None = None) -> np.ndarray:
    from PIL import Image

    im = Image.open(path).convert("RGB")
    if size is not None and im.size != size:
        im = im.resize(size, Image.LANCZOS)
    return np.asarray(im, np.float64) / 255.0


# ---- rendering ---------------------------------------------------------------------------------
class Film:
    """One film's scene, built like addon/render/__main__.py builds it; `render` applies a candidate and times it."""

    def __init__(self, name: str, traj: Path, resolution: str, points: float = 1.0, engine: str = "cycles"):
        import bpy

        from flowreel.addon.render.args import build_parser, scene_options
        from flowreel.addon.render.engines import configure_engine
        from flowreel.addon.scene.build import build_scene

        look, _, extra = FILMS[name]
        argv = [str(traj), "--engine", engine, "--look", look, "--resolution", resolution, "--motion-blur", *extra]
        n = int(np.load(traj, mmap_mode="r")["positions"].shape[1])
        if points < 1:
            argv += ["--max-particles", str(int(n * points))]
        args = build_parser().parse_args(argv)
        opts = scene_options(args)
        bpy.ops.wm.read_factory_settings(use_empty=True)
        self.bpy, self.scene = bpy, bpy.context.scene
        self.points = build_scene(self.scene, str(traj), opts)
        self.engine = configure_engine(self.scene, args, [self.points])
        self.size = (self.scene.render.resolution_x, self.scene.render.resolution_y)
        s = self.scene
        self.mid = (s.frame_start + s.frame_end) // 2
        self.rest = s.frame_end
        if self.engine == "FLOWREEL_SPLAT":
            s.render.use_motion_blur = True
        if engine == "workbench":  # the glow: Workbench's frame through the look's compositor
            s.render.use_compositing = True

    def tree(self, need: bool):
        """The look's compositor; for a look without one (ink), a plain one while a candidate needs it."""
        from flowreel.addon import compat

        s = self.scene
        tree = s.compositing_node_group if hasattr(s, "compositing_node_group") else (
            s.node_tree if s.use_nodes else None)
        if tree is None and need:
            target = compat.compositor_output(s, "Bench Compositor", True)
            tree = target.id_data
            tree.links.new(tree.nodes.new("CompositorNodeRLayers").outputs["Image"], target)
            s.render.use_compositing = True
        elif tree is not None and not need and tree.name.startswith("Bench Compositor"):
            compat.compositor_output(s, "Bench Compositor", False)
            s.render.use_compositing = False
            return None
        return tree

    def apply(self, c: Cand) -> None:
        s, cy = self.scene, getattr(self.scene, "cycles", None)
        if self.engine == "CYCLES":
            cy.samples = c.samples
            cy.use_adaptive_sampling = c.adaptive > 0
            cy.adaptive_threshold = c.adaptive or 0.02
            cy.use_denoising = c.denoise == "oidn"
            cy.denoising_quality, cy.denoising_input_passes, cy.denoising_prefilter = c.dq, c.passes, c.prefilter
            self.points.cycles.motion_steps = c.motion_steps
        elif self.engine.startswith("BLENDER_EEVEE"):
            s.eevee.taa_render_samples = c.samples
        s.render.use_motion_blur = c.blur == "steps" and self.engine in ("CYCLES", "FLOWREEL_SPLAT")
        if self.engine == "FLOWREEL_SPLAT":
            from flowreel.addon.render.splat import engine as splat

            splat.SUPERSAMPLE = c.supersample
        if hasattr(s, "eevee") and hasattr(s.eevee, "use_motion_blur"):
            s.eevee.use_motion_blur = s.render.use_motion_blur
        s.render.resolution_percentage = c.scale
        self.view_layer().use_pass_vector = c.blur == "vector"
        self._compositor(c)

    def view_layer(self):
        return self.scene.view_layers[0]

    def _compositor(self, c: Cand) -> None:
        """Glare quality; a Denoise node after the render layer ("comp"); Vector Blur before the glare."""
        tree = self.tree(c.denoise == "comp" or c.blur == "vector")
        if tree is None:
            return
        for node in [n for n in tree.nodes if n.bl_idname in ("CompositorNodeDenoise", "CompositorNodeVecBlur")]:
            inp = next((lk.from_socket for lk in tree.links if lk.to_node == node and lk.to_socket.name == "Image"),
                       None)
            outs = [lk.to_socket for lk in tree.links if lk.from_node == node]
            tree.nodes.remove(node)
            for o in outs:
                tree.links.new(inp, o)
        rl = next(n for n in tree.nodes if n.bl_idname == "CompositorNodeRLayers")
        for n in tree.nodes:
            if n.bl_idname == "CompositorNodeGlare":
                n.inputs["Quality"].default_value = c.glare
        for kind in (["CompositorNodeDenoise"] if c.denoise == "comp" else []) + (
                ["CompositorNodeVecBlur"] if c.blur == "vector" else []):
            src = rl.outputs["Image"]
            targets = [lk.to_socket for lk in tree.links if lk.from_socket == src]
            node = tree.nodes.new(kind)
            tree.links.new(src, node.inputs["Image"])
            if kind == "CompositorNodeVecBlur":
                tree.links.new(rl.outputs["Vector"], node.inputs["Speed"])
                if "Depth" in node.inputs and "Depth" in rl.outputs:
                    tree.links.new(rl.outputs["Depth"], node.inputs["Depth"])
            for t in targets:
                tree.links.new(node.outputs["Image"], t)
            rl = _Chain(node)

    def render(self, c: Cand, frame: int, path: Path) -> float:
        from PIL import Image

        from flowreel.addon.render.frame_loop import render_frame

        self.apply(c)
        t = time.perf_counter()
        render_frame(self.bpy, self.scene, frame, path, quiet=True)
        if c.scale != 100:  # the upscale is part of the cost
            Image.open(path).convert("RGB").resize(self.size, Image.LANCZOS).save(path)
        return time.perf_counter() - t


class _Chain:
    """A node whose Image output stands in for the render layer's for the next inserted node."""

    def __init__(self, node):
        self.outputs = {"Image": node.outputs["Image"]}


# ---- the sweep ---------------------------------------------------------------------------------
def film_traj(name: str, d: Path, n: int) -> Path:
    from bench_render import synthetic_traj

    if FILMS[name][1]:
        return sphere_traj(d / "shape.npz", n, 49)
    return synthetic_traj(d / "picture.npz", n, 49, REPO / "examples" / "logo.png")


def sweep_film(name: str, traj: Path, res: str, cands: list[Cand], ref_samples: int, repeats: int,
               work: Path, log) -> list[dict]:
    ref = Cand(f"reference {ref_samples} spp", "reference", samples=ref_samples, adaptive=0, denoise="off")
    films: dict[tuple[str, float], Film] = {}

    def film_for(c: Cand) -> Film:
        key = (c.engine, c.points)
        if key not in films:
            films.clear()  # one scene at a time (bpy has one current scene)
            films[key] = Film(name, traj, res, c.points, c.engine)
        return films[key]

    f = film_for(ref)
    frames = {"mid": f.mid, "rest": f.rest}
    refs = {}
    for label, fr in frames.items():
        p = work / f"{name}_{label}_ref.png"
        secs = f.render(ref, fr, p)
        refs[label] = read_png(p)
        log(f"{name} {label}: reference {ref_samples} spp {secs:.1f} s")
    rows = {c.name: {"cand": c, "times": [], "ssim": {}, "flip": {}} for c in cands}
    order = sorted(cands, key=lambda c: (c.engine, c.points))  # scene builds grouped; shuffled within a group
    rng = random.Random(0)
    for rep in range(repeats):
        for label, fr in frames.items():
            groups: dict = {}
            for c in order:
                groups.setdefault((c.engine, c.points), []).append(c)
            for cs in groups.values():
                rng.shuffle(cs)
                for c in cs:
                    if c.engine != "cycles" and name == "ink":
                        continue  # the glow-free ink look has no Workbench / EEVEE glow variant
                    if c.engine == "splat" and name in ("ink", "3d"):
                        continue  # lit points, depth of field: the splat engine falls back to Cycles there
                    p = work / f"{name}_{label}_{abs(hash(c.name)) % 10**8}.png"
                    try:
                        secs = film_for(c).render(c, fr, p)
                    except Exception as e:  # a setting this build lacks: say so, keep sweeping
                        log(f"{name} {label} {c.name}: FAILED {type(e).__name__}: {e}")
                        continue
                    r = rows[c.name]
                    r["times"].append(secs)
                    if rep == 0:
                        img = read_png(p, (refs[label].shape[1], refs[label].shape[0]))
                        r["ssim"][label], r["flip"][label] = ssim(refs[label], img), flip(refs[label], img)
                        (work / "keep").mkdir(exist_ok=True)
                        os.replace(p, work / "keep" / f"{name}_{label}_{_slug(c.name)}.png")
                        log(f"{name} {label} {c.name}: {secs:.2f} s  SSIM {r['ssim'][label]:.4f}  "
                            f"FLIP {r['flip'][label]:.4f}")
                    else:
                        p.unlink(missing_ok=True)
    films.clear()
    out = []
    for r in rows.values():
        if not r["times"]:
            continue
        out.append({"film": name, "name": r["cand"].name, "group": r["cand"].group,
                    "s_per_frame": float(np.median(r["times"])), "n_times": len(r["times"]),
                    "ssim_mid": r["ssim"].get("mid"), "ssim_rest": r["ssim"].get("rest"),
                    "flip_mid": r["flip"].get("mid"), "flip_rest": r["flip"].get("rest")})
    return out


def rows_from_log(text: str, loads: list[float]) -> list[dict]:
    """The rows of a sweep's printed lines ("[  12 s, load 3.1] glow mid NAME: 1.23 s  SSIM 0.98  FLIP 0.01")."""
    import re

    by: dict[tuple[str, str], dict] = {}
    groups = {c.name: c.group for c in candidates(False)}
    pat = re.compile(r"load ([\d.]+)\] (\S+) (mid|rest) (.+): ([\d.]+) s  SSIM ([\d.]+)  FLIP ([\d.]+)")
    for m in pat.finditer(text):
        load, film, label, name, secs, s_, f_ = m.groups()
        loads.append(float(load))
        r = by.setdefault((film, name), {"film": film, "name": name, "group": groups.get(name, "?"), "times": []})
        r["times"].append(float(secs))
        r[f"ssim_{label}"], r[f"flip_{label}"] = float(s_), float(f_)
    out = []
    for r in by.values():
        times = r.pop("times")
        out.append({**r, "s_per_frame": float(np.median(times)), "n_times": len(times)})
        for k in ("ssim_mid", "ssim_rest", "flip_mid", "flip_rest"):
            out[-1].setdefault(k, None)
    return out


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name).strip("_")[:60]


def worst(r: dict, metric: str) -> float | None:
    """The worse of the mid-flight and resting frames' scores (the one measured, when only one was)."""
    vals = [v for v in (r[f"{metric}_mid"], r[f"{metric}_rest"]) if v is not None]
    return None if not vals else (min(vals) if metric == "ssim" else max(vals))


def plot(rows: list[dict], film: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in rows if r["film"] == film]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    groups = sorted({r["group"] for r in rows})
    cmap = plt.get_cmap("tab20")
    for ax, metric, better in ((axes[0], "ssim", "higher"), (axes[1], "flip", "lower")):
        for i, g in enumerate(groups):
            rs = [r for r in rows if r["group"] == g and worst(r, metric) is not None]
            y = [worst(r, metric) for r in rs]
            ax.scatter([r["s_per_frame"] for r in rs], y, label=g, color=cmap(i), s=28,
                       marker="*" if g == "today" else "o")
        ax.set_xscale("log")
        ax.set_xlabel("seconds per frame (median, 2-core CPU box)")
        ax.set_ylabel(f"{metric.upper()} vs reference, worse of mid-flight and rest ({better} is better)")
        if metric == "ssim":
            ax.axhline(0.98, color="grey", lw=0.8, ls="--")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7, loc="best")
    fig.suptitle(f"{film}: image quality against render time per candidate setting")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def crops(film: str, work: Path, names: list[str], path: Path, box: int = 120) -> None:
    """Reference and the named candidates side by side, 100 % crops (mid-flight above, rest below)."""
    from PIL import Image, ImageDraw

    tiles = []
    for label in ("mid", "rest"):
        ref = Image.open(work / f"{film}_{label}_ref.png").convert("RGB")
        a = np.asarray(ref, np.float64).sum(axis=2)
        # the busiest box: most detail (gradient energy) is where differences would show
        g = np.abs(np.diff(a, axis=0))[:, :-1] + np.abs(np.diff(a, axis=1))[:-1]
        cs = np.cumsum(np.cumsum(np.pad(g, ((1, 0), (1, 0))), 0), 1)
        e = cs[box:, box:] - cs[:-box, box:] - cs[box:, :-box] + cs[:-box, :-box]
        y, x = np.unravel_index(int(np.argmax(e)), e.shape)
        row = [("reference", ref)] + [(n, Image.open(work / "keep" / f"{film}_{label}_{_slug(n)}.png"))
                                      for n in names if (work / "keep" / f"{film}_{label}_{_slug(n)}.png").exists()]
        tiles.append([(n, im.convert("RGB").crop((x, y, x + box, y + box))) for n, im in row])
    cols = max(len(r) for r in tiles)
    sheet = Image.new("RGB", (cols * (box * 2 + 4), len(tiles) * (box * 2 + 16)), (40, 40, 40))
    draw = ImageDraw.Draw(sheet)
    for j, row in enumerate(tiles):
        for i, (n, im) in enumerate(row):
            sheet.paste(im.resize((box * 2, box * 2), Image.NEAREST), (i * (box * 2 + 4), j * (box * 2 + 16) + 14))
            draw.text((i * (box * 2 + 4) + 2, j * (box * 2 + 16)), n[:40], fill=(230, 230, 230))
    sheet.save(path)


# Today's `--quality final` before this benchmark chose new settings (issue 19), as render-script flags.
OLD_FINAL = ["--engine", "cycles", "--samples", "64", "--denoise", "auto", "--motion-blur"]
# The first choice of this benchmark (Cycles, 32 samples, no denoiser): what films the splat engine cannot draw get.
CYCLES_32 = ["--engine", "cycles", "--samples", "32", "--denoise", "off", "--motion-blur"]


def film_scene(traj: Path, flags: list[str], resolution: str):
    """(scene, options) of `traj`'s film with the render script's `flags`, built as the render script builds it
    (factory settings, build_scene, the film's timing, configure_engine)."""
    import bpy

    from flowreel.addon.render.args import build_parser, scene_options
    from flowreel.addon.render.engines import configure_engine
    from flowreel.addon.scene.build import build_scene
    from flowreel.addon.scene.film_timing import film_options

    args = build_parser().parse_args([str(traj), *flags, "--resolution", resolution])
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    points = build_scene(scene, str(traj), scene_options(args))
    configure_engine(scene, args, [points])
    return scene, film_options(points, scene_options(args))


def before_after(traj: Path, look: str, resolution: str, rounds: int, work: Path, log) -> dict:
    """The default film's frames with the old final flags and with `--quality final`, alternately (mid-flight,
    then at rest, `rounds` times): seconds per frame (median, scene build excluded) and SSIM / FLIP of the
    new frame against the old one; keeps both frames for the crops."""
    import bpy

    from flowreel.addon.render.frame_loop import render_frame

    configs = {"before": OLD_FINAL, "cycles32": CYCLES_32, "after": ["--quality", "final"]}
    times: dict[str, list[float]] = {k: [] for k in configs}
    cpu_times: dict[str, list[float]] = {k: [] for k in configs}  # all threads: less sensitive to other jobs
    out: dict = {}
    for rnd in range(rounds):
        for label in ("mid", "rest"):
            for name, flags in configs.items():
                scene, _ = film_scene(traj, ["--look", look, *flags], resolution)
                frame = (scene.frame_start + scene.frame_end) // 2 if label == "mid" else scene.frame_end
                path = work / f"ba_{name}_{label}.png"
                t, cpu = time.perf_counter(), _cpu_seconds()
                render_frame(bpy, scene, frame, path, quiet=True)
                times[name].append(time.perf_counter() - t)
                cpu_times[name].append(_cpu_seconds() - cpu)
                log(f"{resolution} {name} {label}: {times[name][-1]:.1f} s, CPU {cpu_times[name][-1]:.1f} s "
                    f"({scene.render.engine}, samples {scene.cycles.samples}, denoise {scene.cycles.use_denoising})")
            if rnd == 0:
                a = read_png(work / f"ba_before_{label}.png")
                for name in ("cycles32", "after"):
                    b = read_png(work / f"ba_{name}_{label}.png")
                    out[f"{name}_ssim_{label}"], out[f"{name}_flip_{label}"] = ssim(a, b), flip(a, b)
    out.update({f"{k}_s": float(np.median(v)) for k, v in times.items()})
    out.update({f"{k}_cpu_s": float(np.median(v)) for k, v in cpu_times.items()})
    out["n"] = len(times["before"])
    return out


def film_slices(traj: Path, every: int, resolution: str, work: Path, log) -> dict:
    """A real film's frames (every `every`-th of those the film renders rather than copies) with the old final
    flags and with `--quality final`, alternately, frame by frame: seconds per frame, the film's render time
    extrapolated from the sample, and SSIM / FLIP of each new frame against the old one."""
    import bpy

    from flowreel.addon.core.stills import still_keys
    from flowreel.addon.render.frame_loop import render_frame

    configs = {"before": OLD_FINAL, "after": ["--quality", "final"]}
    scene, opts = film_scene(traj, configs["after"], resolution)
    frames = range(scene.frame_start, scene.frame_end + 1)
    keys = still_keys(opts, frames)
    rendered = [f for f in frames if f not in keys or f == frames[0] or keys[f] != keys.get(f - 1)]
    sample = rendered[every // 2::every]
    log(f"{len(rendered)} of {len(frames)} frames rendered; sampled: {sample}")
    times: dict[str, list[float]] = {k: [] for k in configs}
    scores = []
    for f in sample:
        for name, flags in configs.items():
            scene, _ = film_scene(traj, flags, resolution)
            path = work / f"slice_{name}_{f:04d}.png"
            t = time.perf_counter()
            render_frame(bpy, scene, f, path, quiet=True)
            times[name].append(time.perf_counter() - t)
            log(f"{resolution} frame {f} {name}: {times[name][-1]:.2f} s ({scene.render.engine})")
        a, b = read_png(work / f"slice_before_{f:04d}.png"), read_png(work / f"slice_after_{f:04d}.png")
        scores.append((ssim(a, b), flip(a, b)))
        log(f"frame {f}: new vs old SSIM {scores[-1][0]:.4f} FLIP {scores[-1][1]:.4f}")
    out = {f"{k}_s_median": float(np.median(v)) for k, v in times.items()}
    out.update({f"{k}_film_min": float(np.mean(v)) * len(rendered) / 60 for k, v in times.items()})
    out.update({"frames_sampled": sample, "rendered_frames": len(rendered), "times": times,
                "ssim_min": min(x for x, _ in scores), "ssim_median": float(np.median([x for x, _ in scores])),
                "flip_max": max(y for _, y in scores)})
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--films", default="glow,ink,neon,3d")
    p.add_argument("--points", type=int, default=200_000, help="particles (the final's count)")
    p.add_argument("--resolution", default="480x270")
    p.add_argument("--ref-samples", type=int, default=512)
    p.add_argument("--repeats", type=int, default=2, help="timed renders of each candidate per frame")
    p.add_argument("--only", default="", help="candidate names separated by ; (default: all)")
    p.add_argument("--chosen", default="", help="candidate names shown in the crops, separated by ;")
    p.add_argument("--quick", action="store_true", help="20k points, 240x135, few candidates, 64 spp reference")
    p.add_argument("--out", default=str(RESULTS / "quality.md"))
    p.add_argument("--work", default="", help="keep the rendered frames here (default: a temporary folder)")
    p.add_argument("--before-after", metavar="WxH", default="",
                   help="instead of the sweep: the glow film's frames, old final flags vs --quality final, at WxH")
    p.add_argument("--film-slices", metavar="TRAJ", default="",
                   help="instead of the sweep: every --every-th rendered frame of TRAJ's film, old final vs new")
    p.add_argument("--every", type=int, default=10)
    p.add_argument("--replot", action="store_true", help="plots, crops and table from --work's rows.json")
    args = p.parse_args(argv)
    if args.quick:
        args.points, args.resolution, args.ref_samples, args.repeats = 20_000, "240x135", 64, 1
    import bpy

    cands = candidates(args.quick)
    if args.only:
        want = set(args.only.split(";"))
        cands = [c for c in cands if c.name in want]
    t0 = time.time()
    loads = [os.getloadavg()[0]]
    log_lines: list[str] = []

    def log(msg: str) -> None:
        loads.append(os.getloadavg()[0])
        line = f"[{time.time() - t0:6.0f} s, load {loads[-1]:.1f}] {msg}"
        log_lines.append(line)
        print(line, flush=True)

    if args.film_slices:
        work = Path(args.work or tempfile.mkdtemp(prefix="bench_quality_"))
        work.mkdir(parents=True, exist_ok=True)
        r = film_slices(Path(args.film_slices), args.every, "1920x1080", work, log)
        r.update({"traj": args.film_slices, "load_min": min(loads), "load_max": max(loads),
                  "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"})
        (RESULTS / "quality_film_slices_1920x1080.json").write_text(json.dumps(r, indent=1))
        print(json.dumps(r))
        return 0
    if args.before_after:
        work = Path(args.work or tempfile.mkdtemp(prefix="bench_quality_"))
        work.mkdir(parents=True, exist_ok=True)
        r = before_after(film_traj("glow", work, args.points), "glow", args.before_after, args.repeats, work, log)
        r.update({"resolution": args.before_after, "points": args.points, "load_min": min(loads),
                  "load_max": max(loads), "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"})
        (RESULTS / f"quality_before_after_{args.before_after}.json").write_text(json.dumps(r, indent=1))
        print(json.dumps(r))
        return 0
    rows: list[dict] = []
    if args.replot:  # the rows of earlier runs (one folder per film, run side by side)
        works = [Path(w) for w in args.work.split(",")]
        for w in works:
            if (w / "rows.json").exists():
                rows += json.loads((w / "rows.json").read_text())
            else:  # a run stopped before its film ended: the rows from its log
                rows += rows_from_log((w / "log.txt").read_text(), loads)
            if (w / "loads.json").exists():
                loads += json.loads((w / "loads.json").read_text())
        for w in works:
            for film in sorted({r["film"] for r in rows if (w / f"{r['film']}_mid_ref.png").exists()}):
                _figures(rows, film, w, args.chosen)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(args.work or tmp)
            work.mkdir(parents=True, exist_ok=True)
            for film in args.films.split(","):
                traj = film_traj(film, work, args.points)
                rows += sweep_film(film, traj, args.resolution, cands, args.ref_samples, args.repeats, work, log)
                (work / "rows.json").write_text(json.dumps(rows, indent=1))
                (work / "loads.json").write_text(json.dumps(loads))
                if not args.quick:
                    _figures(rows, film, work, args.chosen)
    if args.quick:
        return 0
    lines = [
        "# Image quality per second (bench/bench_quality.py)",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; Blender {bpy.app.version_string} (bpy module); no GPU",
        f"- Machine: {os.cpu_count()} cores, load average (1 min) {min(loads):.1f} .. "
        f"{max(loads):.1f} during the sweep (median {float(np.median(loads)):.1f}); s/frame: the median "
        f"of the candidate's renders (mid-flight and at rest, {args.repeats} of each, interleaved with the other "
        "candidates); a missing score: the sweep was stopped before that frame",
        f"- {args.points:,} particles, {args.resolution}, motion blur on (as the final film); reference: "
        f"{args.ref_samples} samples, adaptive sampling off, no denoiser; SSIM on luminance (1 = identical), "
        "FLIP mean error (0 = identical); the worse of the mid-flight and resting frames",
        "",
        "| film | candidate | s/frame | SSIM mid | SSIM rest | FLIP mid | FLIP rest |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in sorted(rows, key=lambda r: (r["film"], r["s_per_frame"])):
        lines.append(f"| {r['film']} | {r['name']} | {r['s_per_frame']:.2f} | {_f(r['ssim_mid'])} | "
                     f"{_f(r['ssim_rest'])} | {_f(r['flip_mid'])} | {_f(r['flip_rest'])} |")
    Path(args.out).write_text("\n".join(lines) + "\n")
    (RESULTS / "quality_rows.json").write_text(json.dumps(rows, indent=1))
    print(f"wrote {args.out}")
    return 0


def _figures(rows: list[dict], film: str, work: Path, chosen: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    plot(rows, film, RESULTS / f"quality_{film}.png")
    crops(film, work, [TODAY.name] + [n for n in chosen.split(";") if n], RESULTS / f"crops_{film}.png")


def _cpu_seconds() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _f(x) -> str:
    return "-" if x is None else f"{x:.4f}"


if __name__ == "__main__":
    sys.exit(main())
