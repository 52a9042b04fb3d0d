"""How a cluster render splits a film (trainer/cluster/plan.py), without Ray: the film's frames as the
render script builds them, every frame in exactly one chunk, about three chunks per render slot, and a
hold (frames that show the same picture) kept in one chunk so it costs one render, as on one machine."""

from __future__ import annotations

from test_cluster_util import FILM_ARGS, FILM_FRAMES, tiny_traj

from flowreel.trainer.cluster.plan import chunk_size, chunks, plan_film, runs


def test_plan_reads_the_film_the_render_script_builds(tmp_path):
    traj, _ = tiny_traj(tmp_path / "tiny.npz")
    plan = plan_film([str(traj), "-o", str(tmp_path / "film.mp4"), "--gif", "--frames-dir", "f", *FILM_ARGS])
    assert (plan.first, plan.last, plan.film, plan.size) == (1, FILM_FRAMES, (1, FILM_FRAMES), (64, 36))
    assert plan.folder.name == "f" and plan.encode and not plan.replace_changed
    assert "--gif" not in plan.chunk_args and "-o" not in plan.chunk_args and "--frames-dir" not in plan.chunk_args
    assert plan.chunk_args[:2] == ["--fps", "8"]
    part = plan_film([str(traj), "--frames", "3-7", "--no-video", "--replace-changed", *FILM_ARGS])
    assert (part.first, part.last, part.encode, part.replace_changed) == (3, 7, False, True)
    assert part.folder == tmp_path / "tiny_frames"


def test_chunks_cover_every_frame_once_and_keep_holds_whole():
    hold = (0.0, 0.0, 0.0)
    keys = {f: hold for f in range(1, 31)} | {f: (f,) for f in range(31, 91)} | {f: (1.0,) for f in range(91, 121)}
    frames = [f for f in range(1, 121) if f not in (50, 51)]  # two frames already on disk (a resume)
    assert len(runs(frames, keys)) == 1 + 58 + 1  # each hold is one render
    size = chunk_size(len(runs(frames, keys)), slots=4)
    parts = chunks(frames, size, keys)
    covered = [f for a, b in parts for f in range(a, b + 1)]
    assert covered == frames  # every missing frame once, in order, none of those on disk
    assert 12 <= len(parts) <= 14  # about three per slot (the gap at 50-51 splits one)
    assert parts[0][0] == 1 and parts[0][1] >= 30  # the opening hold is in the first chunk, whole
    assert any(a <= 91 and b == 120 for a, b in parts)  # and the closing one in the last
    assert chunks(list(range(1, 11)), 3) == [(1, 3), (4, 6), (7, 9), (10, 10)]  # no keys: frames are renders
