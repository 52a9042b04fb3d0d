"""Turbulence: a curl-noise motion layer added to exported paths (`--turbulence AMOUNT --turbulence-scale S`).

The offset of a particle at x and time t is amount * fade(t) * u(x, t), where u is the curl of a random
smooth potential, a sum of M travelling waves:

    u(x, t) = sum_m a cos(k_m . x + w_m t + p_m) c_m,   c_m = k_m x e_m  (2-D: e_m = z, c_m = (k_y, -k_x))

Each term is the curl of a sin(k_m . x + ...) e_m, so u is divergence-free: the layer swirls the cloud
without bunching it up or thinning it out. |k_m| is about 2 pi / scale (scale: the size of a swirl in
world units, where the picture's longer side spans 8), and u is normalised to unit RMS, so `amount` is
the typical displacement in world units. The waves travel (w_m), so the swirls evolve over the film.

fade(t) = sin^2(pi u) on each move between two keys (u from 0 to 1 over the move) is 0 with zero slope
at t = 0, at t = 1 and at every key of a sequence: the noise at t = 0 stays exactly N(0, I), every key's
picture stays exact, and nothing jumps or kinks where the layer starts or stops.
Applied in place, a chunk of frames at a time (memory: one chunk, not the film).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

MODES = 24
DEFAULT_SCALE = 1.5
SPEED = 2.0  # radians of wave phase per unit of film time, times 2 pi: swirls drift about twice over a move


def key_times(meta: dict, times: np.ndarray) -> list[float]:
    """Film times of the keys (a sequence's meta.keys; else noise at t = times[0] and the picture at the end)."""
    keys = meta.get("keys") or []
    if len(keys) >= 2:
        return [float(times[int(k["index"])]) for k in keys]
    return [float(times[0]), float(times[-1])]


def fade(times: np.ndarray, keys: Sequence[float]) -> np.ndarray:
    """float64 [T]: sin^2 of each move's own progress; 0 at every key and outside the keys."""
    t = np.asarray(times, dtype=np.float64)
    out = np.zeros_like(t)
    for a, b in zip(keys[:-1], keys[1:], strict=True):
        inside = (t > a) & (t < b)
        out[inside] = np.sin(np.pi * (t[inside] - a) / (b - a)) ** 2
    return out


def _modes(dim: int, scale: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Wave vectors k [M, dim], curl directions c [M, dim] (RMS of u = 1), speeds w [M], phases p [M]."""
    rng = np.random.default_rng([int(seed), 21])
    direction = rng.standard_normal((MODES, dim))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    k = direction * (2 * np.pi / scale) * rng.uniform(0.7, 1.4, (MODES, 1))
    if dim == 2:
        c = np.stack([k[:, 1], -k[:, 0]], axis=1)
    else:
        e = rng.standard_normal((MODES, 3))
        c = np.cross(k, e / np.linalg.norm(e, axis=1, keepdims=True))
    # E|u|^2 = sum |c_m|^2 / 2 for independent phases: scale c so the RMS speed is 1.
    c /= math.sqrt(0.5 * float((c**2).sum()))
    w = 2 * np.pi * SPEED * rng.uniform(-1.0, 1.0, MODES)
    p = rng.uniform(0.0, 2 * np.pi, MODES)
    return k, c, w, p


def curl_noise(x: np.ndarray, t: float, k: np.ndarray, c: np.ndarray, w: np.ndarray, p: np.ndarray) -> np.ndarray:
    """u(x, t) for points x [N, dim] (float32 out)."""
    phase = x.astype(np.float32) @ k.T.astype(np.float32) + np.float32(t) * w.astype(np.float32) + p.astype(np.float32)
    return np.cos(phase) @ c.astype(np.float32)


def add_turbulence(positions: np.ndarray, times: np.ndarray, keys: Sequence[float], amount: float,
                   scale: float = DEFAULT_SCALE, seed: int = 0) -> dict:
    """Add the layer to positions [T, N, dim] in place; returns its record for the file's meta."""
    if not (amount >= 0 and math.isfinite(amount)):
        raise ValueError(f"turbulence amount must be a number >= 0, got {amount}")
    if not (scale > 0 and math.isfinite(scale)):
        raise ValueError(f"turbulence scale must be a number > 0, got {scale}")
    record = {"amount": float(amount), "scale": float(scale), "seed": int(seed), "modes": MODES,
              "kind": "curl noise, sin^2 fade between keys"}
    if amount == 0:
        return record
    k, c, w, p = _modes(positions.shape[-1], scale, seed)
    f = fade(times, keys)
    for i in np.flatnonzero(f > 0):  # key frames (f = 0) are left exactly as they are
        positions[i] += np.float32(amount * f[i]) * curl_noise(positions[i], float(times[i]), k, c, w, p)
    return record
