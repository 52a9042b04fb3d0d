"""`--cluster` at the command line: an address that does not answer is one line naming it, before anything is
fitted or written; a malformed one is a usage error; without `--cluster` Ray is never imported."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

from conftest import require_module
from test_cluster_util import FILM_ARGS, REPO, tiny_traj, trainer

require_module("torch")


def _closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_address_is_one_line_and_nothing_is_written(tmp_path):
    require_module("ray")
    address = f"127.0.0.1:{_closed_port()}"
    picture = REPO / "examples" / "logo.png"
    r = trainer(["movie", str(picture), "-o", "out/film.mp4", "--runs-dir", "runs", "--cluster", address], tmp_path,
                timeout=120)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert lines == [f"trainer: error: cannot reach the Ray cluster at {address} (connection refused)"], r.stderr
    assert list(tmp_path.iterdir()) == []  # no run folder, no film folder: refused before the fit

    traj, _ = tiny_traj(tmp_path / "tiny.npz")  # `trainer render` too, before its frames folder exists
    r = trainer(["render", "--cluster", f"ray://{address}", str(traj), "-o", "film.mp4", *FILM_ARGS], tmp_path,
                timeout=120)
    assert r.returncode == 1 and r.stderr.strip().splitlines() == [
        f"trainer: error: cannot reach the Ray cluster at ray://{address} (connection refused)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.npz"]


def test_malformed_address_is_a_usage_error(tmp_path):
    r = trainer(["movie", "x.png", "-o", "film.mp4", "--cluster", "head-without-port"], tmp_path, timeout=120)
    assert r.returncode == 2 and "--cluster wants local, auto, HOST:PORT or ray://HOST:PORT" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_without_cluster_ray_is_never_imported(tmp_path):
    """Every trainer module imported (the cluster package too) and a film rendered without --cluster: no Ray."""
    require_module("bpy")
    traj, _ = tiny_traj(tmp_path / "tiny.npz")
    code = ("import importlib, json, pkgutil, sys\n"
            "import flowreel.trainer as t, flowreel.trainer.cluster as c\n"
            "for pkg in (t, c):\n"
            "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
            "        if not m.name.endswith('__main__'): importlib.import_module(m.name)\n"
            "from flowreel.trainer.cli import main\n"
            f"code = main(['render', {str(traj)!r}, '-o', 'film.mp4', *{FILM_ARGS!r}])\n"
            "print(json.dumps([code, sorted(m for m in sys.modules if m.split('.')[0] == 'ray')]))")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(r.stdout.strip().splitlines()[-1]) == [0, []]
    assert (tmp_path / "film.mp4").is_file()


def test_cluster_fits_are_for_sequences(tmp_path):
    r = trainer(["fit", str(REPO / "examples" / "logo.png"), "--out", "run", "--cluster", "local"], tmp_path,
                timeout=120)
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        "trainer: error: --cluster fits the flows of a sequence (two or more pictures) in parallel; one picture's "
        "fit runs here (`trainer movie --cluster` renders its film on the cluster)"]
    assert list(tmp_path.iterdir()) == []
