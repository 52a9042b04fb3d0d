"""Start the add-on's headless render script (`addon/render/__main__.py`) in a child process.

The child is either this Python with the `bpy` module (`python -m flowreel.addon.render`) or a Blender
executable (`blender -b --python addon/render/__main__.py --`). A child process rather than an in-process
`import bpy`: bpy and torch each bring their own threading runtimes, and a child keeps Ctrl-C,
crashes and memory of the render apart from the trainer.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from flowreel.addon.core.child import child_env, die_with_parent
from flowreel.addon.core.contract.render_command import RENDER_MODULE, blender_command, render_script
from flowreel.addon.core.errors import FlowreelError

# The script's path, found without importing the add-on (the trainer imports nothing of it but its core).
RENDER_SCRIPT = render_script(Path(importlib.util.find_spec("flowreel.addon").origin).parent)


class LaunchError(FlowreelError, RuntimeError):
    """No way to run Blender was found, or the render failed; the message is one line."""


def render_command(args: list[str], blender: str | None = None) -> list[str]:
    """The command line that renders with `args`: an explicit Blender, else the bpy module, else PATH."""
    exe = blender or (None if importlib.util.find_spec("bpy") else shutil.which("blender"))
    if blender and not (os.path.isfile(blender) or shutil.which(blender)):
        raise LaunchError(f"--blender {blender}: no such executable")
    if exe is None:
        if importlib.util.find_spec("bpy") is None:
            raise LaunchError(
                "no Blender found: `pip install 'flowreel[blender]'` (bpy, Python 3.11) "
                "or install Blender and put `blender` on PATH (or pass --blender PATH)"
            )
        return [sys.executable, "-m", RENDER_MODULE, *args]
    return blender_command(exe, RENDER_SCRIPT, args)


def _child_setup():
    """The child's preexec: Ctrl-C ignored until the render script's frame loop takes it over (a SIGINT while it
    imports or builds the scene, inside Blender's own Python calls, prints a traceback and may be swallowed),
    and death with its parent. Until then `_interrupt` stops it with a quiet SIGTERM: nothing is lost, the
    point cache is written atomically."""
    die = die_with_parent()

    def setup() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if die is not None:
            die()

    return setup


def _ignores_sigint(pid: int) -> bool:
    """Whether process `pid` still ignores SIGINT (Linux: /proc; elsewhere assume it handles it)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigIgn:"):
                return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
    except (OSError, ValueError):
        pass
    return False


def _interrupt(proc: subprocess.Popen) -> None:
    """Pass on one Ctrl-C: SIGINT once the script handles it (it finishes its frame), else a quiet SIGTERM
    (still building its scene, or encoding: whole files only, see core.atomic)."""
    if _ignores_sigint(proc.pid):
        proc.terminate()
    else:
        proc.send_signal(signal.SIGINT)


def run_render(args: list[str], blender: str | None = None) -> int:
    """Run the render script, streaming its progress lines; returns its exit code.

    On Ctrl-C the child gets one SIGINT: it finishes the frame in progress and exits, frames on disk
    stay for a resume; a second Ctrl-C stops it at once. KeyboardInterrupt is re-raised once it exited.
    """
    cmd = render_command(args, blender)
    # Its own process group: a terminal's Ctrl-C reaches only us, and we pass on exactly one SIGINT
    # (the render script finishes the frame in progress on the first, stops at once on a second).
    # It dies with us (core.child): a kill -9 of the trainer leaves no orphan writing frames.
    proc = subprocess.Popen(cmd, process_group=0, env=child_env(), preexec_fn=_child_setup())
    try:
        return proc.wait()
    except KeyboardInterrupt:
        if proc.poll() is None:
            _interrupt(proc)
            try:
                proc.wait()
            except KeyboardInterrupt:  # a second Ctrl-C: stop now
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        raise
