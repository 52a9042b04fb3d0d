"""One chunk of frames on a Ray worker: the trajectory file from the object store, a fresh render process.

Runs on any node, with no files shared with the driver: the trajectory file arrives as bytes through
Ray's object store and is kept in a per-node cache (keyed by its sha256), so a node fetches it once
however many chunks it renders. Each chunk renders in a working folder of its own with a fresh render
process (the one `trainer render` starts: bpy keeps scene state per process and grows with repeated
renders), and its frames go back to the driver as bytes. A chunk is all or nothing: a render that
fails or is killed returns no frame, and the driver sends the chunk again.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from flowreel.addon.core.atomic import atomic_write
from flowreel.addon.core.child import child_env, die_with_parent
from flowreel.addon.core.frames import FRAME_NAME, png_size, read_record
from flowreel.trainer.film.launch import render_command

_BUILT = re.compile(r"scene frames (\d+)-(\d+) .*\(built in ([\d.]+) s\)")
_FRAME = re.compile(r"frame \d+ \(\d+/\d+\) ([\d.]+) s,")  # a rendered frame's own time (copies have none)


class ChunkFailed(RuntimeError):
    """The chunk's render process failed; the message carries its last lines."""


CACHE_ENV = "FLOWREEL_CLUSTER_CACHE"  # where nodes keep trajectory files and chunk folders (default: the temp dir)
KEEP_UNUSED_S = 24 * 3600  # a node's copy of a trajectory file unused this long is removed


def cache_root() -> Path:
    """This node's folder: by node id, so two nodes on one machine (tests) keep apart as two machines do."""
    import ray

    base = os.environ.get(CACHE_ENV) or os.path.join(tempfile.gettempdir(), f"flowreel-cluster-{os.getuid()}")
    return Path(base) / ray.get_runtime_context().get_node_id()[:12]


def _forget_old(root: Path, keep: Path) -> None:
    """Remove this node's copies of trajectory files that no chunk used for a day (films long finished)."""
    now = time.time()
    for d in root.iterdir():
        if d.is_dir() and d != keep and not d.name.startswith("chunk-"):
            try:
                if now - d.stat().st_mtime > KEEP_UNUSED_S:
                    shutil.rmtree(d, ignore_errors=True)
            except OSError:
                pass


def node_copy(traj_ref: list, sha256: str, name: str) -> tuple[Path, int]:
    """This node's copy of the trajectory file (fetched from the object store the first time); bytes fetched."""
    root = cache_root()
    path = root / sha256[:16] / name
    if path.is_file():
        os.utime(path.parent)  # in use: kept by _forget_old
        return path, 0
    import ray

    if root.is_dir():
        _forget_old(root, path.parent)
    data = ray.get(traj_ref[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:  # chunks of one node may fetch at once: each renames a complete file
        f.write(data)
    return path, len(data)


def render_chunk(traj_ref: list, sha256: str, name: str, flags: list[str], first: int, last: int,
                 blender: str | None) -> dict[str, Any]:
    """Render frames first..last of the film in a fresh process; the frames (bytes) and what it cost."""
    import ray

    t0 = time.monotonic()
    traj, fetched = node_copy(traj_ref, sha256, name)
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="chunk-", dir=root))
    try:
        frames_dir = work / "frames"
        cmd = render_command([str(traj), *flags, "--frames-dir", str(frames_dir), "--no-video",
                              "--frames", f"{first}-{last}"], blender)
        proc = subprocess.run(cmd, cwd=work, env=child_env(), preexec_fn=die_with_parent(),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
        lines = proc.stdout.splitlines()
        if proc.returncode != 0:
            errors = [ln for ln in lines if "error" in ln.lower()] or lines or ["no output"]
            raise ChunkFailed(f"frames {first}-{last}: render exit {proc.returncode}: {errors[-1].strip()}")
        built = next((m for ln in lines if (m := _BUILT.search(ln))), None)
        frames = {}
        for f in range(first, last + 1):
            path = frames_dir / FRAME_NAME.format(f)
            if png_size(path) is None:
                raise ChunkFailed(f"frames {first}-{last}: the render left no complete frame {f}")
            frames[f] = path.read_bytes()
        return {
            "frames": frames,
            "record": read_record(frames_dir),
            "film": (int(built[1]), int(built[2])) if built else None,
            "build_s": float(built[3]) if built else None,
            "render_s": sum(float(m[1]) for ln in lines if (m := _FRAME.search(ln))),
            "seconds": time.monotonic() - t0,
            "fetched": fetched,
            "node": ray.get_runtime_context().get_node_id(),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "workdir": str(work),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
