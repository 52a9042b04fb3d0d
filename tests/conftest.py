"""Shared fixtures. Under CI=true a missing dependency that CI installs is a failure, not a skip."""

from __future__ import annotations

import importlib
import os
import shutil
import signal
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing_dependency(what: str) -> None:
    """Skip locally, fail under CI=true: CI installs every dependency the suite needs."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI but missing", pytrace=False)
    pytest.skip(f"{what} not available", allow_module_level=True)  # also from a module-level require_module


def require_module(name: str):
    """Import `name`, or skip (locally) / fail (CI=true) when it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError:
        missing_dependency(f"python module {name!r}")


@pytest.fixture
def bpy():
    """The bpy module with an empty factory scene, fresh for each test."""
    mod = require_module("bpy")
    mod.ops.wm.read_factory_settings(use_empty=True)
    yield mod
    mod.ops.wm.read_factory_settings(use_empty=True)


@pytest.fixture
def addon_registered(bpy):
    """The bpy module with the Flowreel add-on registered (operators, properties, panels), unregistered after."""
    from flowreel import addon

    addon.register()
    yield bpy
    addon.unregister()


def sigint_interrupts() -> None:
    """Make SIGINT raise KeyboardInterrupt in this process. A shell starts background jobs (`make test &`,
    nohup, some CI runners) with SIGINT ignored, and children inherit that; a test that sends SIGINT sets
    the disposition it relies on. Also a `preexec_fn` for child processes."""
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def sigint_default():
    """SIGINT raises KeyboardInterrupt during the test, whatever this process inherited; restored after."""
    previous = signal.getsignal(signal.SIGINT)
    sigint_interrupts()
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture(scope="session")
def blender_exe() -> str:
    """Path of a `blender` executable ($BLENDER or PATH)."""
    exe = os.environ.get("BLENDER") or shutil.which("blender")
    if not exe:
        missing_dependency("a `blender` executable")
    return exe


@pytest.fixture(scope="session")
def ffmpeg_exe() -> str:
    from flowreel.addon.core.encode import EncodeError, find_ffmpeg

    try:
        return find_ffmpeg()
    except EncodeError:
        missing_dependency("ffmpeg")


@pytest.fixture(scope="session")
def ffprobe_exe(ffmpeg_exe) -> str:
    """ffprobe beside the ffmpeg in use, or on PATH (the imageio-ffmpeg wheel ships no ffprobe)."""
    side = Path(ffmpeg_exe).with_name("ffprobe")
    exe = str(side) if side.exists() else shutil.which("ffprobe")
    if not exe:
        missing_dependency("ffprobe")
    return exe


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny tensors: one torch thread is faster than two, and ~20x faster on a busy 2-core machine
    (two OpenMP threads spin on each other)."""
    torch = require_module("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


TINY_FIT = dict(steps=40, hidden=32, depth=2, n_fourier=16, batch_size=256, eval_samples=500, eval_tol=1e-3)


def fit_tiny(image: Path, run_dir: Path, **target_options) -> Path:
    """A real but tiny (40-step, small network) fit of `image` into `run_dir`, for tests that need a run.
    `target_options` go to trainer.targets.load_target (depth=, fill= for 3-D targets)."""
    from flowreel.trainer.fit import FitConfig, fit
    from flowreel.trainer.targets import load_target

    fit(load_target(image, **target_options), FitConfig(**TINY_FIT), run_dir, progress=False)
    return run_dir


def run_in_blender_with_zip(blender_exe: str, script: str, args: dict, tmp_path: Path) -> dict:
    """Build the add-on zip, run `script` in `blender -b` (fresh user folders under tmp_path) with the
    zip's path added to `args` as "zip", and return the JSON the script printed after FLOWREEL_RESULT."""
    import json
    import subprocess
    import sys

    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import build_addon
    finally:
        sys.path.pop(0)
    args = {**args, "zip": str(build_addon.build(tmp_path / "dist"))}
    env = dict(os.environ, BLENDER_USER_SCRIPTS=str(tmp_path / "user_scripts"),
               BLENDER_USER_CONFIG=str(tmp_path / "user_config"))
    proc = subprocess.run([blender_exe, "-b", "--factory-startup", "--python-expr", script, "--", json.dumps(args)],
                          capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("FLOWREEL_RESULT ")]
    assert lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(lines[-1].split(" ", 1)[1])
