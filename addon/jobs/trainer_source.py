"""Which trainer a fit from Blender runs, and whether this add-on knows it. No bpy: tested in plain Python.

Three sources, in this order:
- "set": the command in the add-on's preferences (anything but empty or the bare default `trainer`);
- "bundled": the trainer the full extension zip carries. Blender installs its wheels into the extension
  site-packages, which is on this Python's sys.path; the trainer then runs with this very Python
  (Blender's own) as a child, that folder first on the child's path, so no `trainer` on PATH is needed;
- "path": `trainer` on PATH (a pip install in a venv or conda environment).

Before a fit, `check()` reads the trainer's version and the trajectory format it writes (a short child that
imports the core only, not torch; cached) and refuses a trainer of another minor version or format in one line
naming both versions. `about()` adds torch's version and device (it imports torch: the preferences' Check).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..core import trajformat
from ..core.errors import FlowreelError
from ..core.version import VERSION, compatible

# What a user without a trainer can do: only ways that exist (no `flowreel` is published on PyPI).
TRAINER_HINT = ("install the Flowreel extension's full zip for your platform (it carries the trainer), or install "
                "the trainer (`pip install flowreel-<version>-py3-none-any.whl`, or `pip install -e .` in a "
                "checkout) and set its command in the add-on's preferences")  # fmt: skip
AUTOMATIC = ("", "trainer")  # the preference's values that mean "find one": bundled, else PATH
# The child's first lines: the extension's site-packages (argv[1]) before Blender's own, then the trainer's CLI.
_BUNDLED_MAIN = ("import sys; sys.path.insert(0, sys.argv.pop(1)); sys.argv[0] = 'trainer'; "
                 "from flowreel.trainer.cli import main; sys.exit(main())")  # fmt: skip
_IDENTITY = (
    "import json, sys\n"
    "if len(sys.argv) > 1: sys.path.insert(0, sys.argv[1])\n"
    "out = {}\n"
    "try:\n"
    "    from flowreel.trainer import __version__ as v; out['version'] = v\n"
    "except Exception as e:\n"
    "    out['error'] = f'{type(e).__name__}: {e}'\n"
    "try:\n"
    "    from flowreel.addon.core import trajformat; out['format'] = trajformat.FORMAT\n"
    "except Exception:\n"
    "    pass\n"
    "if '--device' in sys.argv:\n"
    "    try:\n"
    "        import torch\n"
    "        out['torch'] = torch.__version__\n"
    "        mps = getattr(torch.backends, 'mps', None)\n"
    "        gpu = 'cuda' if torch.cuda.is_available() else 'mps' if mps and mps.is_available() else ''\n"
    "        out['device'] = gpu or 'cpu'\n"
    "    except Exception as e:\n"
    "        out['torch_error'] = f'{type(e).__name__}: {e}'\n"
    "print('FLOWREEL_ABOUT ' + json.dumps(out))\n"
)


class TrainerError(FlowreelError):
    """No trainer, or one this add-on does not know; one line for the user."""


@dataclass(frozen=True)
class Trainer:
    kind: str  # "set", "bundled" or "path"
    argv: tuple[str, ...]  # the command line a subcommand is appended to
    python: str = ""  # the Python that runs it, where known (identity probe); "" = unknown (a binary)
    site: str = ""  # bundled: the extension's site-packages

    def describe(self) -> str:
        if self.kind == "bundled":
            return f"bundled with the extension ({self.site})"
        return f"{'set in the preferences' if self.kind == 'set' else 'on PATH'}: {shlex.join(self.argv)}"


def bundled_site(paths: list[str] | None = None) -> Path | None:
    """The folder on sys.path that holds an installed (not editable) trainer: the full extension's wheels."""
    for entry in sys.path if paths is None else paths:
        if entry and (Path(entry) / "flowreel" / "trainer" / "cli" / "__init__.py").is_file():
            return Path(entry)
    return None


def _python_of(exe: str) -> str:
    """The Python a console script (`#!/…/python`) or a `python -m …` command runs, else ''."""
    name = Path(exe).name.lower()
    if name.startswith("python"):
        return exe
    try:
        with open(exe, "rb") as f:
            first = f.readline(512)
    except OSError:
        return ""
    if first.startswith(b"#!"):
        parts = first[2:].decode("utf-8", "replace").split()
        if parts and Path(parts[0]).name.lower().startswith("python") and os.path.isfile(parts[0]):
            return parts[0]
    return ""


def choose(command: str | None, paths: list[str] | None = None) -> Trainer:
    """The trainer a fit runs for the preference `command` (see the module's doc for the order)."""
    command = (command or "").strip()
    if command not in AUTOMATIC:
        argv = shlex.split(command)
        exe = shutil.which(argv[0])
        if exe is None and os.path.isfile(argv[0]) and os.access(argv[0], os.X_OK):
            exe = argv[0]
        if exe is None:
            raise TrainerError(f"Flowreel trainer not found ({argv[0]!r}, set in the add-on's preferences): "
                               + TRAINER_HINT)  # fmt: skip
        return Trainer("set", (exe, *argv[1:]), _python_of(exe))
    site = bundled_site(paths)
    if site is not None:
        return Trainer("bundled", (sys.executable, "-I", "-u", "-c", _BUNDLED_MAIN, str(site)), sys.executable,
                       str(site))  # fmt: skip
    exe = shutil.which("trainer")
    if exe is None:
        raise TrainerError(f"Flowreel trainer not found (no bundled trainer, no `trainer` on PATH): {TRAINER_HINT}")
    return Trainer("path", (exe,), _python_of(exe))


_CACHE: dict[tuple, dict] = {}


def _stamp(t: Trainer) -> tuple:
    """What makes a cached identity stale: the command and the install's files' times."""
    files = [t.python, t.argv[0], t.site and os.path.join(t.site, "flowreel", "addon", "core", "version.py")]
    times = tuple(os.stat(f).st_mtime_ns if f and os.path.exists(f) else 0 for f in files)
    return (t.argv, times)


def identity(t: Trainer, device: bool = False, timeout: float = 120.0) -> dict:
    """{'version', 'format'} of the trainer's install (and 'torch', 'device' with device=True), read by a short
    child of its own Python; {} when its Python is unknown (a compiled launcher). Cached."""
    if not t.python:
        return {}
    key = (_stamp(t), device)
    if key in _CACHE:
        return _CACHE[key]
    argv = [t.python, "-I", "-c", _IDENTITY, t.site or ""] + (["--device"] if device else [])
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("FLOWREEL_ABOUT ")]
    try:
        out = json.loads(lines[-1].split(" ", 1)[1]) if lines else {}
    except ValueError:
        out = {}
    _CACHE[key] = out
    return out


def mismatch(info: dict, t: Trainer) -> str:
    """The one-line report for a trainer this add-on does not know, or '' when it does (or cannot tell)."""
    version, fmt = info.get("version"), info.get("format")
    if not version and not fmt:
        return ""
    reads = ", ".join(trajformat.FORMATS)
    if version and not compatible(version):
        return (f"Flowreel: the trainer ({t.kind}) is version {version}, this add-on is {VERSION}: install the "
                f"trainer and add-on of one release (the full zip carries both)")  # fmt: skip
    if fmt and fmt not in trajformat.FORMATS:
        return (f"Flowreel: the trainer ({t.kind}, version {version or 'unknown'}) writes {fmt}; this add-on "
                f"(version {VERSION}) reads {reads}: install the trainer and add-on of one release")  # fmt: skip
    return ""


def check(t: Trainer) -> Trainer:
    """The trainer, if this add-on knows its version and format; TrainerError (one line) otherwise."""
    problem = mismatch(identity(t), t)
    if problem:
        raise TrainerError(problem)
    return t


def resolve(command: str | None) -> list[str]:
    """The checked trainer's command line for the preference `command` (jobs.resolve_command)."""
    return list(check(choose(command)).argv)


def summary(command: str | None, device: bool = False) -> list[str]:
    """Lines for the preferences: which trainer runs, its version, its device (device=True imports torch)."""
    try:
        t = choose(command)
    except TrainerError as e:
        return [str(e)]
    lines = [f"Trainer: {t.describe()}"]
    info = identity(t, device=device)
    if info.get("version"):
        text = f"Version {info['version']} (writes {info.get('format', '?')}); add-on {VERSION}"
        problem = mismatch(info, t)
        lines.append(problem or text)
    elif t.python:
        lines.append(f"Not a Flowreel trainer: {info.get('error', 'no answer')}")
    if device:
        if info.get("torch"):
            lines.append(f"Device: {info['device'].upper()} (torch {info['torch']})")
        else:
            lines.append(f"torch does not load: {info.get('torch_error', 'no answer')}")
    return lines
