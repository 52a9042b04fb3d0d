"""The Python API (`from flowreel import fit, export, movie`): the README's example runs as printed, and bad input
is a FlowreelError, never SystemExit or a traceback of argparse."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, require_module


def readme_example() -> str:
    """The Python block under the README's "Python API" heading."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("### From Python", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_example_runs(tmp_path):
    require_module("torch")
    require_module("bpy")
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "logo.png").write_bytes((REPO / "examples" / "logo.png").read_bytes())
    tail = "\nimport json\nprint(json.dumps([str(run.run_dir), str(traj), [*map(str, film.files)]]))"
    code = readme_example() + tail
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    run_dir, traj, files = json.loads(r.stdout.strip().splitlines()[-1])
    assert (tmp_path / run_dir / "metrics.json").is_file()
    from flowreel.addon.core import trajformat

    t = trajformat.read(tmp_path / traj)
    assert t.positions.shape[1] == 2000 and t.positions.shape[0] == 25
    assert [Path(f).suffix for f in files] == [".mp4", ".png"] and all((tmp_path / f).stat().st_size for f in files)


def test_bad_input_is_a_flowreel_error(tmp_path, monkeypatch):
    require_module("torch")
    import flowreel
    from flowreel.addon.core.errors import FlowreelError, UsageError

    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="--steps"):
        flowreel.fit(REPO / "examples" / "logo.png", steps=-3)
    with pytest.raises(UsageError, match="no option"):
        flowreel.fit(REPO / "examples" / "logo.png", **{"_run": 1})
    with pytest.raises(FlowreelError, match="missing.png"):
        flowreel.fit(tmp_path / "missing.png", steps=5)
    with pytest.raises(FlowreelError, match="no such run"):
        flowreel.export(tmp_path / "nothing", tmp_path / "t.npz")
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_import_flowreel_does_not_load_torch():
    code = "import sys, flowreel, flowreel.addon.core; print('torch' in sys.modules, flowreel.__version__)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert r.returncode == 0, r.stderr
    loaded, version = r.stdout.split()
    assert loaded == "False" and re.fullmatch(r"\d+\.\d+\.\d+", version)
