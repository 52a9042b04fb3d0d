"""3-D targets, measured: fit time, and Chamfer / coverage of the flow's own ends, the landed ends and the floor.

    python bench/bench_3d.py [--steps 2000] [--particles 20000] [--out /tmp/bench3d] [--picture examples/logo.png]

Makes the targets (trimesh primitives written to files, a torus point cloud, the picture with --depth 1),
fits each with the default flow-matching settings except --steps (default 2000, the draft film's fit) and
eval_samples 20000, exports N particles x 2 frames with landing "flow" and "exact" from the same noise, and
prints a markdown table row per target (trainer/metrics/shape.py: chamfer relative to the box diagonal,
coverage within 1 % of it; the floor is N independent exact samples against the same reference).
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np
import trimesh

from flowreel.trainer.fit.loop import FitConfig, fit
from flowreel.trainer.fit.runs import load_run
from flowreel.trainer.flow.export import export_trajectories
from flowreel.trainer.metrics.shape import quality3d
from flowreel.trainer.targets.registry import load_target


def make_targets(out: Path, picture: Path) -> list[tuple[str, Path, dict]]:
    out.mkdir(parents=True, exist_ok=True)
    trimesh.creation.icosphere(subdivisions=4).export(out / "sphere.ply")
    trimesh.creation.torus(2.0, 0.6).export(out / "torus.obj")
    trimesh.creation.box(extents=(2.0, 4.0, 8.0)).export(out / "box.stl")
    rng = np.random.default_rng(0)
    u, v = rng.uniform(0, 2 * np.pi, (2, 20000))
    cloud = np.column_stack([(2 + 0.6 * np.cos(v)) * np.cos(u), (2 + 0.6 * np.cos(v)) * np.sin(u), 0.6 * np.sin(v)])
    np.save(out / "torus_cloud.npy", cloud)
    return [
        ("sphere mesh (icosphere, 5120 faces), surface", out / "sphere.ply", {}),
        ("torus mesh (.obj), surface", out / "torus.obj", {}),
        ("box mesh (.stl), volume", out / "box.stl", {"fill": "volume"}),
        ("torus point cloud (.npy, 20k points)", out / "torus_cloud.npy", {}),
        (f"picture with depth ({picture.name}, --depth 1)", picture, {"depth": 1.0}),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--particles", type=int, default=20000)
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench3d"))
    ap.add_argument("--picture", type=Path, default=Path(__file__).resolve().parent.parent / "examples" / "logo.png")
    a = ap.parse_args()
    print("| target | fit s | export+land s | Chamfer flow / landed / floor | coverage flow / landed / floor |")
    print("|---|---|---|---|---|")
    for label, path, opts in make_targets(a.out, a.picture):
        target = load_target(path, **opts)
        run_dir = a.out / f"run-{path.stem}-{'-'.join(map(str, opts.values())) or 'surface'}"
        shutil.rmtree(run_dir, ignore_errors=True)
        m = fit(target, FitConfig(steps=a.steps, eval_samples=20000), run_dir, progress=False)
        run = load_run(run_dir)
        ends = {}
        for landing in ("flow", "exact"):
            t1 = time.perf_counter()
            ends[landing] = export_trajectories(run, a.particles, 2, progress=False, landing=landing).positions[-1]
            if landing == "exact":
                t_export = time.perf_counter() - t1
        qf = quality3d(ends["flow"], target, np.random.default_rng(1))
        ql = quality3d(ends["exact"], target, np.random.default_rng(1))
        print(f"| {label} | {m['train_seconds']:.1f} | {t_export:.1f} | {qf['chamfer']:.4f} / {ql['chamfer']:.4f} / "
              f"{ql['chamfer_floor']:.4f} | {qf['coverage']:.3f} / {ql['coverage']:.3f} / {ql['coverage_floor']:.3f} |",
              flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
