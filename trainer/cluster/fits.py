"""A sequence's flows fitted as parallel Ray tasks (`trainer movie a.png b.png --cluster ADDRESS`).

Each picture's own flow and each pair are independent fits: one task each, on a GPU (`num_gpus=1`) where
the cluster has GPUs, else taking a node's CPUs. No shared filesystem: a task gets the densities as
objects, fits in a working folder of its own (resuming from the checkpoint the driver holds, if any),
and sends the run folder's files back; the driver writes them into the run folder under its lock
(core.lock), `metrics.json` last, since its presence is what makes a run complete (sequence.Leg). The
sequence's own loop (sequence.ensure_fits) then finds every run done and reuses it. A lost task is
sent again, up to render.MAX_TRIES times.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flowreel.addon.core.atomic import atomic_write
from flowreel.addon.core.lock import folder_lock

from .connect import ClusterError, connect
from .render import MAX_TRIES, failure_reason

COMPLETE = "metrics.json"  # written last: the run is complete once it exists


def fit_run(target: Any, source: Any, config: Any, resume_files: dict[str, bytes]) -> dict[str, Any]:
    """On a worker: fit `target` (from `source`, or noise) in a fresh folder; the run folder's files."""
    import socket

    from flowreel.trainer.fit.loop import fit

    work = Path(tempfile.mkdtemp(prefix="flowreel-fit-"))
    t0 = time.monotonic()
    try:
        for name, data in resume_files.items():
            (work / name).write_bytes(data)
        fit(target, config, work, resume="checkpoint.pt" in resume_files, progress=False, source=source)
        files = {p.name: p.read_bytes() for p in sorted(work.iterdir()) if p.is_file()}
        return {"files": files, "seconds": time.monotonic() - t0, "host": socket.gethostname()}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _resume_files(run_dir: Path) -> dict[str, bytes]:
    """An interrupted fit's checkpoint and config, so the task resumes it instead of starting over."""
    names = ("checkpoint.pt", "config.json")
    if all((run_dir / n).is_file() for n in names):
        return {n: (run_dir / n).read_bytes() for n in names}
    return {}


def _write_run(run_dir: Path, files: dict[str, bytes]) -> None:
    with folder_lock(run_dir, "fitting"):
        for name in sorted(files, key=lambda n: n == COMPLETE):
            if "/" in name or name.startswith("."):
                raise ClusterError(f"a fit task sent back an unexpected file name {name!r}")
            with atomic_write(run_dir / name) as f:
                f.write(files[name])


def fit_legs(plan: Any, config: Any, address: str, say: Callable[[str], None] = print) -> int:
    """Fit every incomplete run of the sequence `plan` on the cluster, in parallel; how many were fitted."""
    todo = [leg for leg in plan.fits() if not leg.complete]
    if not todo:
        return 0
    info = connect(address)
    import ray

    if info.gpus >= 1:
        task = ray.remote(fit_run).options(num_gpus=1, num_cpus=1, max_retries=0)
    else:
        task = ray.remote(fit_run).options(num_cpus=max(1.0, info.min_node_cpus), max_retries=0)
    densities = [ray.put(d) for d in plan.densities]  # each picture once, however many runs use it
    pending: dict[Any, tuple[Any, int]] = {}

    def submit(leg: Any, tries: int = 1) -> None:
        source = None if leg.source is None else densities[leg.source]
        pending[task.remote(densities[leg.target], source, config, _resume_files(leg.run_dir))] = (leg, tries)

    for leg in todo:
        submit(leg)
    say(f"fitting {len(todo)} flows as parallel tasks on {info.nodes} node{'s' * (info.nodes != 1)} "
        f"({f'{info.gpus:g} GPUs' if info.gpus else f'{info.cpus:g} CPUs'}) at {address}")
    done = 0
    t0 = time.monotonic()
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)  # Ctrl-C / Cancel lands within 0.5 s
            if not ready:
                continue
            leg, tries = pending.pop(ready[0])
            try:
                res = ray.get(ready[0])
            except ray.exceptions.RayError as e:
                if tries >= MAX_TRIES:
                    raise ClusterError(f"the fit of {leg.run_dir.name} failed {tries} times: "
                                       f"{failure_reason(e)}") from None
                say(f"the fit of {leg.run_dir.name} was lost ({failure_reason(e)}): sending it again")
                submit(leg, tries + 1)
                continue
            _write_run(leg.run_dir, res["files"])
            done += 1
            say(f"[{done}/{len(todo)}] fitted {leg.run_dir.name} on {res['host']} in {res['seconds']:.1f} s "
                f"(elapsed {time.monotonic() - t0:.1f} s)")
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    return done
