"""Integrate a sequence's chain of flows into one trajectory file: one set of particles through the whole film.

The particles at a key are the start of the next move, exactly: the film is built move by move, each
move integrating its legs (trainer.sequence.plan) from the positions the previous move ended on. Every
picture key is exact, with the single-picture landing (trainer.flow.landing): the flow's ends are paired
with exact samples of the picture by an approximate optimal transport, and each particle's offset is
blended in with smoothstep over the move (over the forward half of a ``via noise`` move: its middle
stays the flow's own noise). The ramp is 0 at the move's first frame, so nothing jumps at a key, and 1
at its last, so the key frame is the samples themselves, coloured by their pixels (``key_colors``).

Frames: ``frames_per_move`` intervals per move, equally spaced in film time, so key k sits at frame
``k * frames_per_move`` and T = 1 + moves x frames_per_move.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from flowreel import trainer
from flowreel.addon.core.trajformat import FORMAT, Trajectory
from flowreel.trainer.flow import landing
from flowreel.trainer.flow.export import ATOL, RTOL, SOLVER, initial_noise
from flowreel.trainer.sequence.plan import Leg, Plan


def _union(extents: list[list[float]]) -> list[float]:
    e = np.asarray(extents, dtype=np.float64)
    return [float(e[:, 0].min()), float(e[:, 1].max()), float(e[:, 2].min()), float(e[:, 3].max())]


def build_keys_and_segments(p: Plan, frames_per_move: int) -> tuple[list[dict], list[dict]]:
    """meta.keys and meta.segments (docs/format.md) of a plan: holds at the keys between two moves."""
    F = int(frames_per_move)
    keys = []
    for k in range(p.n_keys):
        i = p.key_picture(k)
        d = None if i is None else p.densities[i]
        keys.append({
            "index": k * F,
            "time": k / (p.n_keys - 1),
            "kind": "noise" if d is None else "picture",
            "name": None if d is None else d.name,
            "sha256": None if d is None else d.sha256,
            "extent": None if d is None else [float(v) for v in d.extent],
            # The film's first and last rests are the render's --hold-start / --hold-end (null: the add-on's
            # default); a key between two moves rests --hold.
            "hold": float(p.options.hold) if 0 < k < p.n_keys - 1 else None,
        })  # fmt: skip
    segments: list[dict] = []
    for m in p.moves:
        segments.append({"kind": "move", "from": m.frm, "to": m.to, "via": m.via,
                         "seconds": float(p.options.seconds_per_move)})  # fmt: skip
        if m.to < p.n_keys - 1:  # the film's first and last rests are the render's --hold-start / --hold-end
            segments.append({"kind": "hold", "key": m.to, "seconds": float(p.options.hold)})
    return keys, segments


def _integrate_leg(leg: Leg, runs: dict, z0: np.ndarray, n_intervals: int, device: str, rtol: float, atol: float,
                   progress: bool) -> np.ndarray:
    """float32 [n_intervals + 1, N, 2]: the leg's flow from z0, forward (t 0 -> 1) or backward (1 -> 0)."""
    from flowreel.trainer.fit.runs import load_run
    from flowreel.trainer.flow import integrate as flow

    if leg.run_dir not in runs:
        runs[leg.run_dir] = load_run(leg.run_dir, device=device)
    model = runs[leg.run_dir].model
    dev = next(model.parameters()).device
    t = torch.linspace(0.0, 1.0, n_intervals + 1, device=dev)
    if leg.backward:
        t = t.flip(0)
    out, _ = flow.integrate(model, torch.from_numpy(np.ascontiguousarray(z0)).to(dev), t, rtol=rtol, atol=atol,
                            method=SOLVER, progress=progress)  # fmt: skip
    out[0] = z0  # the solver returns its start as given; this makes "exactly" explicit
    return out


def export_sequence(
    p: Plan,
    n_particles: int = 60_000,
    frames_per_move: int = 72,
    seed: int = 0,
    *,
    device: str = "cpu",
    rtol: float = RTOL,
    atol: float = ATOL,
    progress: bool = False,
    say=None,
    turbulence: float = 0.0,
    turbulence_scale: float = 1.5,
) -> Trajectory:
    """The film of plan `p` (its runs fitted): positions [1 + moves x frames_per_move, N, 2], key colours."""
    n, F = int(n_particles), int(frames_per_move)
    if n < 1:
        raise ValueError(f"n_particles must be >= 1, got {n}")
    if F < 2:
        raise ValueError(f"frames_per_move must be >= 2, got {F}")
    t_start = time.perf_counter()
    T = 1 + F * len(p.moves)
    positions = np.empty((T, n, 2), dtype=np.float32)
    key_colors = np.zeros((p.n_keys, n, 4), dtype=np.uint8)
    landed: list[dict[str, Any] | None] = [None] * p.n_keys
    first = p.key_picture(0)
    if first is None:
        positions[0] = initial_noise(n, seed)  # the single-picture film's noise for the same seed
    else:
        positions[0], key_colors[0] = landing.exact_samples(p.densities[first], n, np.random.default_rng([seed, 1, 0]))
        landed[0] = {"method": "exact", "exact_samples": True}
    runs: dict = {}
    for m in p.moves:
        t0 = time.perf_counter()
        seg = positions[m.frm * F : m.to * F + 1]  # a view: landing writes into the film in place
        if len(m.legs) == 1:
            seg[:] = _integrate_leg(m.legs[0], runs, seg[0], F, device, rtol, atol, progress)
            land_from = 0
        else:  # via noise: back into noise over the first half, the next picture's flow over the second
            half = F // 2
            seg[: half + 1] = _integrate_leg(m.legs[0], runs, seg[0], half, device, rtol, atol, progress)
            seg[half:] = _integrate_leg(m.legs[1], runs, seg[half], F - half, device, rtol, atol, progress)
            land_from = half
        part = seg[land_from:]
        local_t = np.linspace(0.0, 1.0, len(part))
        target = p.densities[p.key_picture(m.to)]
        # Its own stream per key, so a key's samples do not depend on how the moves before it went.
        colors, info = landing.land(part, local_t, target, np.random.default_rng([seed, 1, m.to]))
        key_colors[m.to] = colors
        info["key"] = m.to
        landed[m.to] = info
        if say is not None:
            say(f"move {m.frm} -> {m.to} ({m.via}): {time.perf_counter() - t0:.1f} s, landing offset median "
                f"{info['median_offset']:.3f}")
    if first is None:
        key_colors[0] = key_colors[1]  # a noise key takes the colours of the key after it (docs/format.md)
    keys, segments = build_keys_and_segments(p, F)
    times = (np.arange(T, dtype=np.float64) / (T - 1)).astype(np.float32)
    for key in keys:
        key["time"] = float(times[key["index"]])
    meta = _meta(p, keys, segments, n=n, T=T, seed=seed, rtol=rtol, atol=atol, landed=landed,
                 seconds=time.perf_counter() - t_start)  # fmt: skip
    if turbulence > 0:  # curl noise, 0 at every key (trainer/flow/turbulence.py)
        from flowreel.trainer.flow.turbulence import add_turbulence, key_times

        meta["turbulence"] = add_turbulence(positions, times, key_times(meta, times), turbulence, turbulence_scale,
                                            seed)
    return Trajectory(positions=positions, times=times, meta=meta, colors=key_colors[-1].copy(),
                      key_colors=key_colors)  # fmt: skip


def _meta(p: Plan, keys, segments, *, n: int, T: int, seed: int, rtol: float, atol: float, landed, seconds: float
          ) -> dict:
    import datetime as _dt
    import json

    runs = {}
    for m in p.moves:
        for leg in m.legs:
            metrics_path = leg.run_dir / "metrics.json"
            metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
            runs[str(leg.run_dir)] = {"flow": leg.flow, "excess_tv": metrics.get("excess_tv"),
                                      "steps": metrics.get("steps"), "seconds": metrics.get("seconds")}
    return {
        "format": FORMAT,
        "trainer": {"name": "flowreel", "version": trainer.__version__},
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "extent": _union([k["extent"] for k in keys if k["extent"] is not None]),
        "keys": keys,
        "segments": segments,
        "coordinates": "world units; x right, y up; each picture centred, its longer side spans [-4, 4]",
        "time": "film time: key k at times[keys[k].index]; moves equally spaced in time between keys",
        "method": "fm",
        "seed": int(seed),
        "n_particles": n,
        "n_frames": T,
        "sequence": {
            "start": p.options.start,
            "via": p.options.via,
            "moves": [{"from": m.frm, "to": m.to, "via": m.via,
                       "legs": [{"flow": leg.flow, "run": leg.run_dir.name, "backward": leg.backward}
                                for leg in m.legs]} for m in p.moves],
            "runs": runs,
            "export_seconds": round(seconds, 3),
        },  # fmt: skip
        "solver": {"library": "torchdiffeq", "method": SOLVER, "rtol": rtol, "atol": atol, "dense_output": True},
        "logp": False,
        "landing": {"method": "exact", "schedule": "smoothstep", "keys": landed},
        "colors": "key_colors[k]: RGBA of the pixel of the exact picture sample each particle is at, at key k",
    }
