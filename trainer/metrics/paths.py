"""How straight a film's moves are: path length and turning of the particles over a stretch of frames.

Used by the sequence tests and bench/bench_sequence.py to compare ``--via direct`` with ``--via noise``
(a direct move should be shorter and turn less: minibatch OT pairs each particle with a near partner).
"""

from __future__ import annotations

import numpy as np


def path_stats(positions: np.ndarray, chunk: int = 8192) -> dict[str, float]:
    """How long and how bent the paths of a [F+1, N, D] stretch of frames are.

    length: mean path length (world units); chord: mean straight distance from first to last frame;
    turning: mean summed angle between consecutive steps (radians per path; pi = one U-turn);
    curvature: the angle between consecutive steps, averaged over all steps weighted by their length
    (radians per frame): a particle that hardly moves hardly counts, so its jitter does not swamp the
    measure; 0 = every path straight.
    """
    p = np.asarray(positions)
    n = p.shape[1]
    length = chord = turning = bend = weight = 0.0
    for s in range(0, n, chunk):
        x = p[:, s:s + chunk].astype(np.float64)
        d = np.diff(x, axis=0)  # [F, m, D]
        step = np.linalg.norm(d, axis=2)
        cos = (d[:-1] * d[1:]).sum(2) / np.maximum(step[:-1] * step[1:], 1e-300)
        ang = np.arccos(np.clip(cos, -1.0, 1.0))
        ang[(step[:-1] < 1e-9) | (step[1:] < 1e-9)] = 0.0
        w = 0.5 * (step[:-1] + step[1:])
        length += step.sum()
        chord += np.linalg.norm(x[-1] - x[0], axis=1).sum()
        turning += ang.sum()
        bend += (ang * w).sum()
        weight += w.sum()
    return {"length": length / n, "chord": chord / n, "turning": turning / n,
            "curvature": bend / weight if weight > 0 else 0.0}


def move_stats(positions: np.ndarray, keys: list[dict]) -> list[dict[str, float]]:
    """path_stats of each move of a film (between consecutive keys' frame indices)."""
    idx = [int(k["index"]) for k in keys]
    return [path_stats(positions[a:b + 1]) for a, b in zip(idx, idx[1:], strict=False)]
