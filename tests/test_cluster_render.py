"""A film rendered on a local Ray cluster (`trainer render --cluster local`) is the local render's film: the
same frames pixel for pixel, one encoded film; and a worker killed mid-chunk costs that chunk only.

The driver runs in this process, joined to one local cluster (2 CPUs, 128 MB object store, 127.0.0.1)
for the module; the cluster is shut down at the end and leaves no raylet behind.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from conftest import probe_video, require_module
from test_cluster_util import (
    FILM_ARGS,
    FILM_FRAMES,
    LOOPBACK,
    STORE,
    assert_no_raylet_left,
    raylets,
    same_pixels,
    tiny_traj,
)

require_module("torch")  # the trainer's side (absent by design in the bpy-only Blender venvs)
require_module("ray")
require_module("bpy")

from flowreel.trainer.cli import main  # noqa: E402


@pytest.fixture(scope="module")
def ray_local(tmp_path_factory):
    """One local cluster for the module, on loopback, with its nodes' cache in a temporary folder."""
    import ray

    before = set(raylets())
    cache = tmp_path_factory.mktemp("nodes")
    with pytest.MonkeyPatch.context() as mp:
        for k, v in {**LOOPBACK, "FLOWREEL_CLUSTER_CACHE": str(cache)}.items():
            mp.setenv(k, v)
        ray.init(num_cpus=2, object_store_memory=STORE, include_dashboard=False, _node_ip_address="127.0.0.1",
                 log_to_driver=False)
        try:
            yield cache
        finally:
            ray.shutdown()
    assert_no_raylet_left(before)


@pytest.fixture(scope="module")
def local_film(tmp_path_factory):
    """The reference: the same film rendered on this machine, without a cluster."""
    require_module("bpy")
    d = tmp_path_factory.mktemp("local")
    traj, _ = tiny_traj(d / "tiny.npz")
    assert main(["render", str(traj), "-o", str(d / "film.mp4"), *FILM_ARGS]) == 0
    return d / "film_frames"


def test_cluster_frames_equal_a_local_render(ray_local, local_film, tmp_path, capsys, ffprobe_exe):
    traj, sha = tiny_traj(tmp_path / "tiny.npz")
    film = tmp_path / "film.mp4"
    assert main(["render", "--cluster", "local", str(traj), "-o", str(film), *FILM_ARGS]) == 0
    out = capsys.readouterr().out
    same_pixels(local_film, tmp_path / "film_frames")
    assert probe_video(ffprobe_exe, film) == (FILM_FRAMES, 64, 36)  # encoded once, here, from every frame
    assert f"{FILM_FRAMES}/{FILM_FRAMES})" in out and "ETA 0:00" in out  # one bar over all frames, to its end
    assert f"0 retries: {FILM_FRAMES} frames in" in out
    # The trajectory file reached the node through the object store, into its own folder; chunk folders are gone.
    copies = list(ray_local.glob(f"*/{sha[:16]}/tiny.npz"))
    assert len(copies) == 1 and copies[0].read_bytes() == traj.read_bytes()
    assert not list(ray_local.glob("*/chunk-*"))
    # A second run finds every frame done: nothing is rendered again, the folder's record still holds.
    assert main(["render", "--cluster", "local", str(traj), "-o", str(film), *FILM_ARGS]) == 0
    assert "0 frames in" in capsys.readouterr().out
    # Other settings: the folder's record refuses them in one line (nothing touched), or --replace-changed
    # discards the old frames and renders the film again, as a local render does.
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "film_frames").glob("frame_*.png")}
    other = [*FILM_ARGS[:-2], "--easing", "ease_in_out"]
    assert main(["render", "--cluster", "local", str(traj), "-o", str(film), *other]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "were rendered with other settings (easing differ)" in err[0], err
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "film_frames").glob("frame_*.png")} == before
    assert main(["render", "--cluster", "local", str(traj), "-o", str(film), *other, "--replace-changed"]) == 0
    assert f"discarded {FILM_FRAMES} old frames" in capsys.readouterr().out
    assert probe_video(ffprobe_exe, film) == (FILM_FRAMES, 64, 36)


def _kill_first_chunk_worker(sha: str, killed: list[int], stop: threading.Event) -> None:
    """Watch for the render process of a chunk of this film; SIGKILL the Ray worker that runs it."""
    while not stop.is_set() and not killed:
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if b"flowreel.addon.render" in cmd and any(sha[:16].encode() in a for a in cmd):
                os.kill(parent, signal.SIGKILL)  # the worker; its render child dies with it
                killed.append(parent)
                return
        time.sleep(0.05)


def test_a_worker_killed_mid_chunk_costs_that_chunk_only(ray_local, local_film, tmp_path, capsys, ffprobe_exe):
    traj, sha = tiny_traj(tmp_path / "tiny.npz")
    film = tmp_path / "film.mp4"
    killed: list[int] = []
    stop = threading.Event()
    watcher = threading.Thread(target=_kill_first_chunk_worker, args=(sha, killed, stop), daemon=True)
    watcher.start()
    try:
        assert main(["render", "--cluster", "local", str(traj), "-o", str(film), *FILM_ARGS]) == 0
    finally:
        stop.set()
        watcher.join()
    out = capsys.readouterr().out
    assert killed, "no chunk's render process was seen"
    assert "lost (" in out and "sending them again" in out
    assert f"1 retry: {FILM_FRAMES} frames in" in out  # every frame written once, none lost
    same_pixels(local_film, tmp_path / "film_frames")
    assert probe_video(ffprobe_exe, film) == (FILM_FRAMES, 64, 36)
    assert not list((tmp_path / "film_frames").glob(".*partial*"))


def test_a_sequences_flows_fit_as_cluster_tasks(ray_local, tmp_path):
    """Each flow of a two-picture sequence is a task; its run folder comes back whole (a run a later film
    loads and reuses), and the sequence's own loop then has nothing left to fit."""
    from PIL import Image, ImageDraw

    from flowreel.trainer.cluster.fits import fit_legs
    from flowreel.trainer.fit.loop import FitConfig
    from flowreel.trainer.fit.runs import load_run
    from flowreel.trainer.sequence.plan import SequenceOptions, ensure_fits, load_pictures, plan

    paths = []
    for name, box in (("a", [4, 6, 24, 26]), ("b", [20, 4, 44, 28])):
        im = Image.new("RGB", (48, 32), "white")
        ImageDraw.Draw(im).ellipse(box, fill=(200, 30, 30))
        im.save(tmp_path / f"{name}.png")
        paths.append(tmp_path / f"{name}.png")
    density = {"invert": False, "threshold": None, "max_side": 48, "crop": "none", "frame": None}
    cfg = FitConfig(steps=40, hidden=32, depth=2, n_fourier=16, batch_size=256, eval_samples=500, eval_tol=1e-3)
    p = plan(load_pictures(paths, density), SequenceOptions(), cfg, density, tmp_path / "runs")
    lines: list[str] = []
    assert fit_legs(p, cfg, "local", say=lines.append) == 2  # noise -> a, and a -> b
    assert lines[0].startswith("fitting 2 flows as parallel tasks on 1 node")
    for leg in p.fits():
        assert leg.complete
        assert {"checkpoint.pt", "config.json", "metrics.json"} <= {f.name for f in leg.run_dir.iterdir()}
        assert load_run(leg.run_dir) is not None
    done = ensure_fits(p, cfg, progress=False, say=lambda s: None)
    assert done["fitted"] == [] and len(done["reused"]) == 2
