"""The driver of a cluster render: chunks of frames as Ray tasks, frames written as they arrive.

The machine that runs `trainer movie` / `trainer render` holds its frames folder (core.lock) as a local
render does, sends the trajectory file to the object store once, and keeps every render slot busy
with chunks (plan.chunk_size). Each finished chunk's frames are written into the frames folder at
once, under unique temporary names (core.atomic), so an interrupted cluster render resumes like a local
one, from the frames on disk, and the record file (core.frames) stays the one statement of the
settings that made them: it is the chunk render's own record, with the driver's trajectory file. A
chunk that fails (its render exits, its worker or node dies) costs that chunk only: it is sent again,
up to `MAX_TRIES` times; a frame already on disk is never written twice. The film is then encoded once,
on this machine, by the render script (it finds every frame done and encodes, as after a local render).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowreel.addon.core.atomic import atomic_write
from flowreel.addon.core.contract.progress import clock
from flowreel.addon.core.frames import FRAME_GLOB, frame_done, frame_path, read_record, write_record
from flowreel.addon.core.lock import folder_lock

from .connect import ClusterError, ClusterInfo, connect
from .plan import FilmPlan, chunk_size, chunks, plan_film, runs

PROG = "flowreel-cluster"
MAX_TRIES = 4  # a chunk's first try and three more
_TRAJ_KEYS = ("traj", "traj_size", "traj_mtime_ns")


@dataclass
class ClusterStats:
    frames: int = 0  # frames written into the frames folder
    tasks: int = 0  # tasks run to their end, retries included
    retries: int = 0
    nodes: set[str] = field(default_factory=set)
    traj_bytes: int = 0  # trajectory file bytes sent to nodes
    frame_bytes: int = 0  # frame bytes sent back
    seconds: float = 0.0
    build_seconds: list[float] = field(default_factory=list)  # each task's scene build
    task_seconds: list[float] = field(default_factory=list)
    render_seconds: list[float] = field(default_factory=list)  # each task's frames, as its render timed them

    def summary(self) -> str:
        fps = self.frames / self.seconds if self.seconds > 0 else 0.0
        per_frame = self.frame_bytes / self.frames if self.frames else 0
        build = (f", scene build {sum(self.build_seconds) / len(self.build_seconds):.1f} s a task"
                 if self.build_seconds else "")
        return (f"{PROG}: {self.tasks} tasks on {len(self.nodes)} node{'s' * (len(self.nodes) != 1)}, "
                f"{self.retries} retr{'y' if self.retries == 1 else 'ies'}: {self.frames} frames in "
                f"{clock(self.seconds)} ({fps:.2f} frames/s); "
                f"moved {(self.traj_bytes + self.frame_bytes) / 1e6:.1f} MB "
                f"(trajectory file {self.traj_bytes / 1e6:.1f} MB out, frames {self.frame_bytes / 1e6:.1f} MB back, "
                f"{per_frame / 1e3:.0f} kB a frame){build}")


def _say(message: str) -> None:
    print(message, flush=True)


def cluster_render(args: list[str], address: str, blender: str | None = None, say: Callable[[str], None] = _say
                   ) -> int:
    """`run_render` on a cluster: render the film of `args` (the render script's command line) in chunks on
    the cluster at `address`, then encode it here. Returns the render script's exit status."""
    from flowreel.trainer.film.launch import run_render

    plan, stats = render_on_cluster(args, address, blender, say)
    say(stats.summary())
    if not plan.encode:
        return 0
    # Every frame is on disk: the render script finds them done and encodes, as after a local render. Its
    # record check is strict: frames of another Blender than this machine's are an error, not a re-render.
    return run_render([a for a in args if a != "--replace-changed"], blender)


def render_on_cluster(args: list[str], address: str, blender: str | None = None,
                      say: Callable[[str], None] = _say) -> tuple[FilmPlan, ClusterStats]:
    """The frames of `args`' film rendered on the cluster into this machine's frames folder (held meanwhile)."""
    plan = plan_film(args)
    data = plan.traj.read_bytes()
    info = connect(address, object_store_bytes=3 * len(data))
    with folder_lock(plan.folder, "rendering into it", say=lambda m: say(f"{PROG}: {m}")):
        return plan, render_frames(plan, info, data, blender, say)


def driver_record(record: dict[str, Any] | None, traj: Path) -> dict[str, Any] | None:
    """A chunk's record as the driver's own render writes it: with the driver's trajectory file."""
    if record is None:
        return None
    st = os.stat(traj)
    return {**record, "traj": os.path.abspath(traj), "traj_size": st.st_size, "traj_mtime_ns": st.st_mtime_ns}


def _discard_changed(plan: FilmPlan, old: dict, new: dict, say: Callable[[str], None]) -> None:
    diff = ", ".join(sorted(k for k in new.keys() | old.keys() if new.get(k) != old.get(k)))
    if not plan.replace_changed:
        raise ClusterError(f"frames in {plan.folder} were rendered with other settings ({diff} differ): "
                           "use another --frames-dir, or --replace-changed to discard them")
    stale = sorted(plan.folder.glob(FRAME_GLOB))
    for f in stale:
        f.unlink()
    say(f"{PROG}: settings changed ({diff}): discarded {len(stale)} old frames in {plan.folder}")


def failure_reason(e: BaseException) -> str:
    cause = getattr(e, "cause", None)
    text = str(cause) if cause is not None else f"{type(e).__name__}: {e}"
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else type(e).__name__


def render_frames(plan: FilmPlan, info: ClusterInfo, data: bytes, blender: str | None,
                  say: Callable[[str], None] = _say) -> ClusterStats:
    """Render the plan's missing frames on the cluster into its frames folder (held by the caller)."""
    import ray

    from .worker import render_chunk

    t0 = time.monotonic()
    stats = ClusterStats()
    folder, size = plan.folder, plan.size
    wanted = range(plan.first, plan.last + 1)
    done = lambda f: frame_done(frame_path(folder, f), size)  # noqa: E731
    old = read_record(folder)
    todo = [f for f in wanted if not done(f)]
    # Nothing to render: one frame is rendered anyway, to compare the settings with the folder's record.
    probe = not todo
    total = len(todo)
    slot_cpus = max(1.0, info.min_node_cpus)  # one render process per node at a time, with all its threads
    slots = max(1, int(info.cpus // slot_cpus))
    size_n = chunk_size(max(1, len(runs(todo, plan.keys))), slots)  # in renders: a hold is one
    task = ray.remote(render_chunk).options(num_cpus=slot_cpus, max_retries=0)
    traj_ref = [ray.put(data)]
    sha = hashlib.sha256(data).hexdigest()
    pending: dict[Any, tuple[tuple[int, int], int]] = {}

    def submit(chunk: tuple[int, int], tries: int = 1) -> None:
        ref = task.remote(traj_ref, sha, plan.traj.name, plan.chunk_args, chunk[0], chunk[1], blender)
        pending[ref] = (chunk, tries)

    for c in chunks(todo or [plan.last], size_n, plan.keys):
        submit(c)
    say(f"{PROG}: {total} frames in {len(pending)} tasks of up to {size_n} renders on {info.nodes} "
        f"node{'s' * (info.nodes != 1)} ({info.cpus:g} CPUs{f', {info.gpus:g} GPUs' if info.gpus else ''}) "
        f"at {info.address}")
    record = old
    checked = False
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)  # Ctrl-C / Cancel lands within 0.5 s
            if not ready:
                continue
            ref = ready[0]
            chunk, tries = pending.pop(ref)
            try:
                res = ray.get(ref)
            except ray.exceptions.RayError as e:  # the render failed (RayTaskError), its worker or node died
                if tries >= MAX_TRIES:
                    raise ClusterError(f"frames {chunk[0]}-{chunk[1]} failed {tries} times: "
                                       f"{failure_reason(e)}") from None
                stats.retries += 1
                say(f"{PROG}: frames {chunk[0]}-{chunk[1]} lost ({failure_reason(e)}): sending them again")
                submit(chunk, tries + 1)
                continue
            if res["film"] is not None and tuple(res["film"]) != plan.film:
                raise ClusterError(f"the render on {res['host']} built frames {res['film'][0]}-{res['film'][1]}, "
                                   f"this machine planned {plan.film[0]}-{plan.film[1]}: another flowreel there?")
            new = driver_record(res["record"], plan.traj)
            if not checked:
                checked = True
                if record is not None and new != record:
                    _discard_changed(plan, record, new, say)
                    flying = {f for (a, b), _ in pending.values() for f in range(a, b + 1)}
                    mine = set(range(chunk[0], chunk[1] + 1))
                    rest = [f for f in wanted if f not in flying and f not in mine]
                    total = len(rest) + len(flying) + len(mine)
                    probe = False  # the probe's frame is a real one now
                    for c in chunks(rest, size_n, plan.keys):
                        submit(c)
                    record = None
                if record is None:
                    write_record(folder, new)
                    record = new
            elif new != record:  # a node with another Blender or add-on draws other pixels
                diff = ", ".join(sorted(k for k in new.keys() | record.keys() if new.get(k) != record.get(k)))
                raise ClusterError(f"node {res['host']} renders with other settings than the first ({diff} differ)")
            stats.tasks += 1
            stats.nodes.add(res["node"])
            stats.traj_bytes += res["fetched"]
            stats.task_seconds.append(res["seconds"])
            stats.render_seconds.append(res["render_s"])
            if res["build_s"] is not None:
                stats.build_seconds.append(res["build_s"])
            for f, png in sorted(res["frames"].items()):
                stats.frame_bytes += len(png)
                if done(f):  # on disk already (a probe, or a chunk sent twice): never written twice
                    continue
                with atomic_write(frame_path(folder, f)) as out:
                    out.write(png)
                stats.frames += 1
            if not probe:
                _progress(say, chunk[1], stats.frames, total, stats.tasks, len(pending), time.monotonic() - t0)
    except BaseException:
        for ref in pending:  # Ctrl-C, Cancel or an error: stop the cluster's work on this film
            ray.cancel(ref, force=True)
        raise
    finally:
        stats.seconds = time.monotonic() - t0
    return stats


def _progress(say: Callable[[str], None], frame: int, done: int, total: int, tasks: int, left: int,
              elapsed: float) -> None:
    """One progress bar over all frames (the add-on's job reads `frame N (i/n) ... elapsed, ETA`)."""
    width = 24
    fill = round(width * done / max(1, total))
    eta = elapsed / max(1, done) * (total - done)
    say(f"{PROG}: frame {frame} ({done}/{total}) [{'#' * fill}{'.' * (width - fill)}] {tasks} tasks done, "
        f"{left} running, elapsed {clock(elapsed)}, ETA {clock(eta)}")
