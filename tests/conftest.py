"""Shared fixtures. Under CI=true a missing dependency that CI installs is a failure, not a skip."""

from __future__ import annotations

import importlib
import os
import shutil
import signal
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# The Blender LTS runs of `make test` (Makefile: test-blender) use bpy-only venvs: torch is left out of them on
# purpose (the tests that need it run in the main suite), and Debian's `blender` is the same for every bpy, so
# the tests that drive it are not repeated there. FLOWREEL_BPY_MATRIX=1 marks such a run.
BPY_MATRIX = os.environ.get("FLOWREEL_BPY_MATRIX", "") == "1"
ABSENT_BY_DESIGN = {"torch"} if BPY_MATRIX else set()


def missing_dependency(what: str) -> None:
    """Skip locally, fail under CI=true: CI installs every dependency the suite needs."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI but missing", pytrace=False)
    pytest.skip(f"{what} not available", allow_module_level=True)  # also from a module-level require_module


def require_module(name: str):
    """Import `name`, or skip (locally) / fail (CI=true) when it is not installed. In a bpy-only venv of the
    Blender LTS runs, torch skips even under CI=true: it is absent there by design."""
    try:
        return importlib.import_module(name)
    except ImportError:
        if name in ABSENT_BY_DESIGN:
            pytest.skip(f"{name} is left out of the bpy-only venvs (the main suite runs this test)",
                        allow_module_level=True)
        missing_dependency(f"python module {name!r}")


def pytest_collection_modifyitems(config, items):
    """In a Blender LTS run, leave out the tests that drive Debian's `blender` executable: they do not depend
    on the bpy under test and the main suite runs them once."""
    if not BPY_MATRIX:
        return
    binary = [it for it in items if "blender_exe" in getattr(it, "fixturenames", ())]
    if binary:
        config.hook.pytest_deselected(items=binary)
        items[:] = [it for it in items if it not in binary]


_SESSION_STATUS: list[int] = []


def pytest_sessionfinish(session, exitstatus):
    _SESSION_STATUS.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """bpy 4.2 segfaults at interpreter exit, in its C++ static destructors, once Blender's own glTF exporter has
    run (`import bpy; bpy.ops.export_scene.gltf(...)` and exit: SIGSEGV; test_addon_3d_front exports glTF), which
    would turn a passing LTS run into a failure. With every report written, leave without those destructors.
    The add-on's own exit is checked in fresh interpreters (tests/test_addon_exit.py), so this hides nothing of ours."""
    bpy = sys.modules.get("bpy")
    if BPY_MATRIX and bpy is not None and tuple(bpy.app.version) < (4, 5, 0) and _SESSION_STATUS:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_SESSION_STATUS[-1])


@pytest.fixture(autouse=True)
def addon_jobs_on_timer(monkeypatch):
    """The add-on's tests drive its job timer themselves (fit_ops.tick, as Blender's event loop would); without
    this, a fit started in background mode (the bpy module) runs to its end inside the operator."""
    monkeypatch.setenv("FLOWREEL_BACKGROUND_JOBS", "timer")


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


def probe_video(ffprobe: str, path) -> tuple[int, int, int]:
    """(frames counted by decoding, width, height) of a video's first stream."""
    import subprocess

    out = subprocess.run([ffprobe, "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                          "stream=nb_read_frames,width,height", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True, check=True).stdout.strip()
    w, h, n = (int(v) for v in out.split(","))
    return n, w, h


def decode_video(ffmpeg: str, path, folder: Path) -> list:
    """Every frame of a video as an RGB float array (decoded to PNGs in `folder`), in order."""
    import subprocess

    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([ffmpeg, "-v", "error", "-i", str(path), str(folder / "%04d.png")], check=True)
    frames = []
    for png in sorted(folder.glob("*.png")):
        with Image.open(png) as im:
            frames.append(np.asarray(im.convert("RGB"), np.float64))
    return frames


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny tensors: one torch thread is faster than two, and ~20x faster on a busy 2-core machine
    (two OpenMP threads spin on each other)."""
    torch = require_module("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def small_fit(monkeypatch):
    """Make the CLI (`trainer fit`, `trainer movie`) train a tiny model and evaluate on few samples: seconds."""
    import dataclasses

    import flowreel.trainer.fit.loop as fitmod

    @dataclasses.dataclass
    class SmallConfig(fitmod.FitConfig):
        hidden: int = 32
        depth: int = 2
        n_fourier: int = 16
        batch_size: int | None = 256
        eval_samples: int = 500
        eval_tol: float = 1e-3

    monkeypatch.setattr(fitmod, "FitConfig", SmallConfig)


TINY_FIT = dict(steps=40, hidden=32, depth=2, n_fourier=16, batch_size=256, eval_samples=500, eval_tol=1e-3)


def fit_tiny(image: Path, run_dir: Path, **target_options) -> Path:
    """A real but tiny (40-step, small network) fit of `image` into `run_dir`, for tests that need a run.
    `target_options` go to trainer.targets.registry.load_target (depth=, fill= for 3-D targets)."""
    from flowreel.trainer.fit.loop import FitConfig, fit
    from flowreel.trainer.targets.registry import load_target

    fit(load_target(image, **target_options), FitConfig(**TINY_FIT), run_dir, progress=False)
    return run_dir


def run_blender_ui(blender_exe: str, script: Path, args: list[str], tmp_path: Path, **env: str) -> tuple[dict, Path]:
    """Run `script` (tests/ui_*_script.py) in Blender's full UI under xvfb-run, the checkout's add-on linked in as
    the user add-on `flowreel`; `args` after `--`, then the output folder. Returns (its result.json, that folder)."""
    import json
    import subprocess

    if not shutil.which("xvfb-run"):
        missing_dependency("xvfb-run (apt-get install xvfb xauth)")
    addons = tmp_path / "scripts" / "addons"
    addons.mkdir(parents=True)
    (addons / "flowreel").symlink_to(REPO / "addon", target_is_directory=True)
    out = tmp_path / "out"
    out.mkdir()
    cmd = ["xvfb-run", "-a", "-s", "-screen 0 1280x720x24", blender_exe, "--factory-startup",
           "--enable-event-simulate", "--python", str(script), "--", *args, str(out)]
    proc = subprocess.run(cmd, env=dict(os.environ, BLENDER_USER_SCRIPTS=str(tmp_path / "scripts"), **env),
                          capture_output=True, text=True, timeout=400)
    assert (out / "result.json").exists(), (proc.stdout + proc.stderr)[-3000:]
    return json.loads((out / "result.json").read_text()), out


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
