"""Helpers shared by the cluster tests (a tiny Workbench film, its frames, Ray on loopback, process checks).

Named test_cluster_* so it sits with them; it defines no tests itself. Every cluster stays on 127.0.0.1
(only loopback traffic is allowed on the test machines): RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 makes Ray
bind there, and every node gets a small object store and few CPUs (the box is shared).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from test_addon_render_util import RADIUS, read_png, write_tiny_traj

REPO = Path(__file__).resolve().parent.parent
# 13 scene frames at 64x36 with Workbench: holds at both ends, 9 frames of flow (about 0.1 s a frame here).
FILM_ARGS = ["--fps", "8", "--seconds", "1", "--hold-start", "0.25", "--hold-end", "0.25", "--radius", str(RADIUS),
             "--resolution", "64x36", "--engine", "workbench", "--easing", "linear"]
FILM_FRAMES = 13
STORE = 128 << 20  # object store bytes per node
LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


def tiny_traj(path: Path) -> tuple[Path, str]:
    """The six-particle film's trajectory file and its sha256 (how a node's copy is named)."""
    traj = write_tiny_traj(path, n_frames=9)
    return traj, hashlib.sha256(traj.read_bytes()).hexdigest()


def frames(folder: Path) -> dict[int, np.ndarray]:
    return {int(p.stem.split("_")[1]): read_png(p) for p in sorted(folder.glob("frame_*.png"))}


def same_pixels(a: Path, b: Path) -> None:
    fa, fb = frames(a), frames(b)
    assert sorted(fa) == sorted(fb) == list(range(1, FILM_FRAMES + 1))
    for f in fa:
        assert np.array_equal(fa[f], fb[f]), f"frame {f} differs"
    assert fa[FILM_FRAMES].max() > 100  # the particles are drawn, not an empty frame


def raylets() -> list[int]:
    """Process ids of running raylets (the tests leave none behind)."""
    out = subprocess.run(["pgrep", "-x", "raylet"], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def assert_no_raylet_left(before: set[int], wait_s: float = 30) -> None:
    """No raylet beyond those of `before` runs (a shut-down cluster's may take a few seconds to exit)."""
    deadline = time.monotonic() + wait_s
    while set(raylets()) - before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not set(raylets()) - before, "the test cluster left a raylet running"


def trainer(args: list[str], tmp_path: Path, env: dict[str, str] | None = None, timeout: float = 300
            ) -> subprocess.CompletedProcess:
    """`trainer ARGS` in a fresh process, its cwd `tmp_path`."""
    return subprocess.run([sys.executable, "-m", "flowreel.trainer.cli", *args], cwd=tmp_path,
                          env={**os.environ, **LOOPBACK, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout)
