"""Long jobs as child processes (the trainer's fit, the render script), watched without blocking.

Blender's Python has no torch, so the add-on runs `trainer fit --progress json` as a child and reads
its lines; the UI polls `Job.poll()` from a timer and never waits. No bpy here: the job runner is
tested with a fake trainer in plain Python.

States: "running", then one of "done", "failed" (message: the child's last error line) or
"cancelled" (after `cancel()`, which sends SIGINT so the trainer saves its checkpoint).
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..core.child import child_env, job_preexec
from ..core.contract.kinds import SAVED_TARGETS, is_raster
from ..core.contract.progress import clock, read_event, read_render_line
from ..core.contract.quality import QUALITY
from ..core.contract.svg_head import HEAD_BYTES, looks_like_svg
from ..core.errors import FlowreelError
from .trainer_source import TRAINER_HINT, TrainerError, resolve


class JobError(FlowreelError):
    """A job cannot start (no trainer, unreadable picture); one line for the user."""


class NotAPictureError(JobError):
    """A readable file whose first bytes are no picture format the trainer reads."""


def resolve_command(command: str) -> list[str]:
    """The trainer's command line for the preference `command`: the one set there, else the bundled trainer (the
    full extension), else `trainer` on PATH (jobs.trainer_source); JobError (one line) when there is none or
    its version or file format is not this add-on's."""
    try:
        return resolve(command)
    except TrainerError as e:
        raise JobError(str(e)) from None


def read_head(p: Path, n: int, noun: str, missing: str = "no such file") -> bytes:
    """The first `n` bytes of file `p`; a one-line JobError naming the `noun` it should be otherwise."""
    try:
        with open(p, "rb") as f:
            return f.read(n)
    except IsADirectoryError:
        raise JobError(f"{p.name}: is a folder, not a {noun}") from None
    except FileNotFoundError:
        raise JobError(f"{p}: {missing}") from None
    except OSError as e:
        raise JobError(f"{p.name}: cannot read the {noun} ({e.strerror or type(e).__name__})") from None


def check_picture(path: str | os.PathLike) -> Path:
    """A readable picture file, checked by its first bytes (JobError otherwise); an SVG by core.contract.svg_head."""
    p = Path(path)
    head = read_head(p, HEAD_BYTES, "picture", missing="no such picture")
    if looks_like_svg(head, p):
        return p
    if not is_raster(head):
        raise NotAPictureError(f"{p.name}: not a picture (PNG, JPEG, GIF, BMP, TIFF, WebP or SVG)")
    return p


def fit_command(trainer: list[str], image: str | os.PathLike, run_dir: Path, *, method: str = "fm",
                quality: str = "draft", steps: int = 0, seed: int = 0) -> tuple[list[str], Path]:
    """argv of the fit (+ export) and the trajectory file it writes; resumes an interrupted run in `run_dir`."""
    q = QUALITY[quality]
    steps = steps or q[method]
    export = run_dir / "traj.npz"
    argv = [*trainer, "fit", str(image), "--out", str(run_dir), "--method", method, "--steps", str(steps),
            "--seed", str(seed), "--export", str(export), "--particles", str(q["particles"]),
            "--frames", str(q["frames"]), "--eval-samples", str(q["eval_samples"]), "--progress", "json"]  # fmt: skip
    # checkpoint without metrics: a fit stopped before its end (Cancel); the trainer continues it
    saved = any((run_dir / name).exists() for name in SAVED_TARGETS)
    if (run_dir / "checkpoint.pt").exists() and saved and not (run_dir / "metrics.json").exists():
        argv.append("--resume")
    return argv, export


@dataclass
class Job:
    """A child process whose stdout carries progress: JSON lines (the trainer) or render lines."""

    argv: list[str]
    kind: str = "fit"  # "fit" or "render": a label, and how to read the lines
    cwd: str | None = None
    env: dict[str, str] = field(default_factory=dict)  # set in the child's environment, over this one's
    state: str = "new"
    stage: str = ""
    step: int = 0
    steps: int = 0
    loss: float | None = None
    flow: int = 0  # a sequence fits its flows one after another: which one (1-based) of how many
    flows: int = 0
    elapsed: float | None = None
    eta: float | None = None
    message: str = ""  # the last error line (failed) or the closing summary
    result: dict = field(default_factory=dict)  # the trainer's "done" line
    returncode: int | None = None
    _proc: subprocess.Popen | None = field(default=None, repr=False)
    _lines: queue.Queue = field(default_factory=queue.Queue, repr=False)
    _readers: list = field(default_factory=list, repr=False)
    _errors: list = field(default_factory=list, repr=False)
    _cancelled: bool = False

    def start(self) -> Job:
        env = child_env(dict(os.environ, PYTHONUNBUFFERED="1", **self.env))
        try:
            # The child dies with Blender (core.child): a crash or kill of Blender leaves no fit or render behind;
            # and it takes Cancel's SIGINT even when Blender itself was started with SIGINT ignored.
            self._proc = subprocess.Popen(
                self.argv, cwd=self.cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True, encoding="utf-8", errors="replace", bufsize=1,
                preexec_fn=job_preexec(),
            )  # fmt: skip
        except OSError as e:
            raise JobError(f"cannot start {self.argv[0]}: {e.strerror or e}") from None
        self.state = "running"
        # Reader threads: a pipe read blocks, the UI thread must not. They only move lines to a queue.
        for stream, name in ((self._proc.stdout, "out"), (self._proc.stderr, "err")):
            t = threading.Thread(target=self._read, args=(stream, name), daemon=True)
            t.start()
            self._readers.append(t)
        return self

    def _read(self, stream, name: str) -> None:
        for line in stream:
            self._lines.put((name, line.rstrip("\n")))
        stream.close()

    @property
    def running(self) -> bool:
        return self.state == "running"

    def poll(self) -> str:
        """Take in the lines written since the last call; returns the state. Never blocks."""
        if self.state != "running":
            return self.state
        self._drain()
        if self._proc.poll() is None:
            return self.state
        for t in self._readers:  # the child has exited: its pipes end within moments
            t.join(timeout=2.0)
        self._drain()
        self.returncode = self._proc.returncode
        self._finish()
        return self.state

    def _drain(self) -> None:
        while True:
            try:
                name, line = self._lines.get_nowait()
            except queue.Empty:
                return
            if name == "err":
                if line.strip() and not line.startswith("\r"):
                    self._errors = [*self._errors[-19:], line.strip()]
            else:
                self._take(line)

    def _take(self, line: str) -> None:
        if self.kind == "render":
            frame = read_render_line(line)
            if frame is not None:
                self.stage = "render"
                self.step, self.steps, self.elapsed, self.eta = frame
            return
        ev = read_event(line)
        if ev is None:
            return  # a stray human line: progress is only what the JSON says
        kind = ev.get("event")
        if kind in ("start", "progress", "stage"):
            self.stage = str(ev.get("stage", self.stage))
            self.step = int(ev.get("step", self.step) or 0)
            self.steps = int(ev.get("steps", self.steps) or 0)
            self.loss = ev.get("loss", self.loss)
            if "flows" in ev:
                self.flow, self.flows = int(ev.get("flow") or 0), int(ev.get("flows") or 0)
            elif kind == "stage":  # export: after the last flow, the job's own stage again
                self.flow = self.flows = 0
            self.elapsed = ev.get("elapsed", self.elapsed)
            self.eta = ev.get("eta") if kind == "progress" else None
        elif kind == "done":
            self.result = ev

    def _finish(self) -> None:
        status = self.result.get("status")
        if self.returncode == 0 and (self.kind != "fit" or status == "ok"):
            self.state, self.message = "done", ""
        elif self._cancelled:
            self.state = "cancelled"
            step = self.result.get("step")
            if self.kind == "render" and self.step:
                self.message = f"render cancelled after {self.step} of {self.steps} frames; rendering again skips them"
            elif step:
                self.message = f"{self.kind} cancelled at step {step}; fitting again resumes from there"
            else:
                self.message = f"{self.kind} cancelled"
        else:
            self.state = "failed"
            self.message = self.last_error() or f"{self.kind} failed with exit code {self.returncode}"

    def last_error(self) -> str:
        """The child's last error line: `trainer: error: ...` if there is one, else its last stderr line."""
        for line in reversed(self._errors):
            if ": error:" in line or line.startswith(("Error", "error")):
                text = line
                break
        else:
            text = self._errors[-1] if self._errors else ""
        if "No module named" in text and "flowreel" in text:
            text += f" ({TRAINER_HINT})"
        return " ".join(text.split())

    def cancel(self) -> None:
        """Ask the child to stop as Ctrl-C does: the trainer saves a checkpoint, the render keeps its frames."""
        if self.state != "running" or self._proc.poll() is not None:
            return
        self._cancelled = True
        if sys.platform == "win32":  # no SIGINT to another process there; the checkpoint is the last periodic one
            self._proc.terminate()
        else:
            self._proc.send_signal(signal.SIGINT)

    def kill(self) -> None:
        """Stop at once (the add-on is being disabled); nothing is saved."""
        if self._proc is not None and self._proc.poll() is None:
            self._cancelled = True
            self._proc.kill()
            self._proc.wait()
        if self.state == "running":
            self.poll()

    def wait(self, timeout: float = 60.0, interval: float = 0.05) -> str:
        """Poll until the job ends (tests and scripts; the UI polls from a timer instead)."""
        end = time.monotonic() + timeout
        while self.poll() == "running":
            if time.monotonic() > end:
                raise TimeoutError(f"{self.kind} still running after {timeout} s")
            time.sleep(interval)
        return self.state

    def status_line(self) -> str:
        """One line for the status bar and the panel: stage, step, loss, ETA."""
        if self.state != "running":
            return self.message or self.state
        if self.stage in ("fit", "render") and self.steps:
            what = "step" if self.stage == "fit" else "frame"
            text = f"Flowreel {self.stage}{self._of()}: {what} {self.step}/{self.steps}"
            if self.loss is not None:
                text += f", loss {self.loss:.4g}"
            if self.eta is not None:
                text += f", ETA {clock(self.eta)}"
            return text
        return f"Flowreel{self._of()}: {self.stage or 'starting'}…"

    def _of(self) -> str:
        """' (flow 2/3)' while a sequence fits its flows; '' otherwise."""
        return f" (flow {self.flow}/{self.flows})" if self.flows > 1 else ""

    def short_lines(self) -> list[str]:
        """The status line cut in two for the sidebar: what and how far, then loss and ETA."""
        if self.state != "running" or not self.steps or self.stage not in ("fit", "render"):
            return [self.status_line()]
        what = "Step" if self.stage == "fit" else "Frame"
        first = f"{self.stage.title()}: {what} {self.step}/{self.steps}"
        if self.flows > 1:  # the sidebar is narrow: "Flow 2/3: Step 10/40"
            first = f"Flow {self.flow}/{self.flows}: {what} {self.step}/{self.steps}"
        rest = [f"Loss {self.loss:.4g}" if self.loss is not None else "", f"ETA {clock(self.eta)}" if self.eta else ""]
        second = ", ".join(x for x in rest if x)
        return [first, second] if second else [first]


