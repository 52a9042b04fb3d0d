"""A cluster of two nodes on this machine (Ray's `cluster_utils.Cluster`, both on 127.0.0.1): the film's chunks
render on both, each node with its own copy of the trajectory file in its own folder (no file shared with the
driver, which runs as a separate `trainer render --cluster HEAD` process), and the film is the local one."""

from __future__ import annotations

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
    trainer,
)

require_module("torch")
require_module("ray")
require_module("bpy")


@pytest.fixture
def two_nodes(tmp_path, monkeypatch):
    from ray.cluster_utils import Cluster

    before = set(raylets())
    cache = tmp_path / "nodes"
    for k, v in {**LOOPBACK, "FLOWREEL_CLUSTER_CACHE": str(cache)}.items():
        monkeypatch.setenv(k, v)
    node = {"num_cpus": 1, "object_store_memory": STORE, "node_ip_address": "127.0.0.1"}
    cluster = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
    try:
        worker = cluster.add_node(**node)
        cluster.wait_for_nodes()
        yield cluster.address, [cluster.head_node.node_id, worker.node_id], cache
    finally:
        cluster.shutdown()
    assert_no_raylet_left(before)


def test_two_nodes_render_chunks_on_both_without_shared_files(two_nodes, tmp_path, ffprobe_exe):
    address, node_ids, cache = two_nodes
    drive = tmp_path / "driver"
    drive.mkdir()
    traj, sha = tiny_traj(drive / "tiny.npz")
    r = trainer(["render", "--cluster", address, str(traj), "-o", "film.mp4", *FILM_ARGS], drive)
    assert r.returncode == 0, r.stderr[-3000:]
    summary = [ln for ln in r.stdout.splitlines() if ln.startswith("flowreel-cluster:") and " tasks on " in ln]
    assert len(summary) == 1 and " on 2 nodes, 0 retries: " in summary[0], r.stdout
    # Each node got the file through the object store into its own folder; the driver's folder is not theirs.
    for node in node_ids:
        copy = cache / node[:12] / sha[:16] / "tiny.npz"
        assert copy.read_bytes() == traj.read_bytes()
        assert not list(copy.parent.parent.glob("chunk-*"))  # each chunk's working folder is removed
    assert sorted(p.name for p in drive.iterdir()) == ["film.mp4", "film_frames", "tiny.npz"]
    local = tmp_path / "local"
    local.mkdir()
    r = trainer(["render", str(traj), "-o", str(local / "film.mp4"), *FILM_ARGS], local)
    assert r.returncode == 0, r.stderr[-3000:]
    same_pixels(local / "film_frames", drive / "film_frames")
    assert probe_video(ffprobe_exe, drive / "film.mp4") == (FILM_FRAMES, 64, 36)
