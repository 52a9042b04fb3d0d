"""Kill `trainer movie` at a stage, rerun it, and check what a user would see: shared by
tests/test_faults_movie.py (a few kills) and bench/bench_faults.py (the long sweep).

The invariant: a run that exits 0 leaves a film that decodes with the film's frame count; a run that
fails on its own says so in one `trainer:` line; a killed run leaves no process behind (its
render child, ffmpeg); and the next run of the same command makes the film.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw

FPS, SECONDS, HOLD_START, HOLD_END = 8, 1.0, 0.25, 0.5
TINY = ["--steps", "150", "--particles", "2000", "--resolution", "64x48", "--samples", "1", "--fps", str(FPS),
        "--seconds", str(SECONDS), "--hold-start", str(HOLD_START), "--hold-end", str(HOLD_END),
        "--look", "glow"]  # fmt: skip
# What a stage's first line looks like in `trainer movie`'s output.
STAGES = {"fit": r"^\[1/3\] fit", "export": r"^\[2/3\] export", "render": r"^\[3/3\] render",
          "frames": r"flowreel-render: frame \d+", "done": r"^done:"}
KILL_STAGES = ["fit", "export", "render", "frames"]  # a seeded sweep's stages (done: the film is written)


def picture(folder: Path) -> Path:
    """A fat ring, 48x32."""
    path = folder / "ring.png"
    im = Image.new("L", (48, 32), 255)
    ImageDraw.Draw(im).ellipse([12, 2, 36, 30], fill=0)
    ImageDraw.Draw(im).ellipse([19, 9, 29, 23], fill=255)
    im.save(path)
    return path


def expected_frames() -> int:
    from flowreel.addon.core.options import SceneOptions
    from flowreel.addon.core.timing import scene_frame_count

    return scene_frame_count(SceneOptions(seconds=SECONDS, fps=FPS, hold_start=HOLD_START, hold_end=HOLD_END))


def film_frames(path: Path) -> int | None:
    """Frames of the film as ffmpeg decodes them, or None when it does not decode."""
    from flowreel.addon.core.encode import EncodeError, verify

    try:
        return verify(str(path), None)
    except EncodeError:
        return None


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d.name))
    out, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass
class Run:
    returncode: int
    output: list[str]
    stderr: list[str]
    killed: str | None = None  # "SIGKILL at render" ...
    orphans: set[int] = field(default_factory=set)  # processes of a killed run still running after it
    seconds: float = 0.0


def movie(image: Path, output: Path, runs: Path, cwd: Path, kill: tuple[str, int, float] | None = None,
          particles: int | None = None, timeout: float = 900) -> Run:
    """Run `trainer movie` once; `kill` = (stage, signal, delay): send the signal `delay` seconds after the
    stage's first line (SIGINT as a terminal's Ctrl-C would: to the trainer only). `particles`: another
    export of the same fit."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", FLOWREEL_DEBUG="")
    budget = list(TINY)
    if particles:
        budget[budget.index("--particles") + 1] = str(particles)
    cmd = [sys.executable, "-m", "flowreel.trainer", "movie", str(image), "-o", str(output), "--runs-dir", str(runs),
           *budget]  # fmt: skip
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.default_int_handler))
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.extend(proc.stderr.read().splitlines()), daemon=True)
    reader.start()
    out: list[str] = []
    fired, below, killed = False, set(), None
    timer = None
    for line in proc.stdout:
        out.append(line.rstrip("\n"))
        if kill and not fired and re.search(STAGES[kill[0]], line):
            fired = True

            def fire() -> None:
                nonlocal below, killed
                if proc.poll() is None:
                    below = descendants(proc.pid)
                    proc.send_signal(kill[1])
                    killed = f"{signal.Signals(kill[1]).name} at {kill[0]} (+{kill[2]:.2f} s)"

            timer = threading.Timer(kill[2], fire)
            timer.start()
    proc.wait(timeout=timeout)
    if timer is not None:
        timer.join()
    reader.join(timeout=10)
    orphans = set()
    if killed:
        end = time.monotonic() + 15  # SIGINT: the render finishes its frame; SIGKILL: the kernel kills it at once
        while time.monotonic() < end and any(running(p) for p in below):
            time.sleep(0.1)
        orphans = {p for p in below if running(p)}
        for p in orphans:  # leave nothing behind whatever the verdict
            os.kill(p, signal.SIGKILL)
    return Run(proc.returncode, out, err, killed, orphans, time.monotonic() - t0)


def together(image: Path, output: Path, runs: Path, cwd: Path, particles: int | None = None) -> list[Run]:
    """Two runs of the same `trainer movie` command started at once."""
    results: list[Run] = []
    threads = [threading.Thread(target=lambda: results.append(movie(image, output, runs, cwd, particles=particles)))
               for _ in range(2)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def problems(run: Run, output: Path, frames: int) -> list[str]:
    """What breaks the invariant in `run` (empty when nothing does)."""
    bad = []
    if run.orphans:
        bad.append(f"processes {sorted(run.orphans)} outlived the killed trainer")
    if run.returncode == 0:
        got = film_frames(output)
        if got != frames:
            bad.append(f"exit 0 but {output.name} has {got} frames (expected {frames})")
    elif run.returncode != -signal.SIGKILL:
        # Progress bars and the render child's own lines share stderr: the trainer's closing words are one
        # `trainer: ...` line (an error, or "interrupted ..." after Ctrl-C), and nothing is a traceback.
        own = [ln for ln in run.stderr if ln.startswith("trainer: ")]
        if len(own) != 1:
            bad.append(f"exit {run.returncode} without one `trainer:` line: {run.stderr[-5:]}")
        if any("internal error" in ln or "Traceback" in ln for ln in run.stderr):
            bad.append(f"a bug report or traceback: {run.stderr[-5:]}")
    return bad


def kill_plan(seed: int, n: int, delays: tuple[float, float] = (0.0, 1.5)) -> list[tuple[str, int, float]]:
    """n seeded kills: a stage, SIGKILL or SIGINT, a delay after the stage begins."""
    rng = random.Random(seed)
    return [(rng.choice(KILL_STAGES), rng.choice([signal.SIGKILL, signal.SIGINT]), rng.uniform(*delays))
            for _ in range(n)]  # fmt: skip
