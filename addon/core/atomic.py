"""Atomic file output: write beside the target under a temporary name, rename when complete.

Pure Python, shared by the trainer and the add-on, so no half-written file is ever left under the
real name (a crash, a kill or Ctrl-C leaves the old file, or none) and finished files get the
permissions a plain open() would give them.

Temporary names are unique per writer: ``.<name>.<pid>-<random>.partial`` (the suffix kept where
a program picks the format by it: ``.<stem>.<pid>-<random>.partial.png``), so two processes writing
the same file never share one, and a writer killed with SIGKILL leaves a name that says whose it
was: the next write of that file (or `remove_stale`) removes it once that process is gone.

A full disk or a refused write is one `DiskError` line naming the path and the space needed
(errors.disk_error), raised before anything is written when the size is known up front.
"""

from __future__ import annotations

import glob
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from .errors import DiskError, disk_error, free_bytes, megabytes

_PARTIAL = re.compile(r"^\.(?P<name>.+?)\.(?:(?P<pid>\d+)-[A-Za-z0-9_]+\.)?partial(?P<ext>\.[A-Za-z0-9]+)?$")


def temp_path(path: str | os.PathLike, keep_suffix: bool = False) -> str:
    """Create and return a unique empty temporary file beside `path` (mode of a plain open()).

    keep_suffix: the name ends in path's suffix (ffmpeg and Blender choose the format by it)."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    stem, ext = os.path.splitext(base) if keep_suffix else (base, "")
    remove_stale(directory, base)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{stem}.{os.getpid()}-", suffix=f".partial{ext}", dir=directory)
    except OSError as e:
        raise (disk_error(e, path) or e) from None
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600
    os.close(fd)
    return tmp


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale(directory: str | os.PathLike, name: str | None = None) -> list[str]:
    """Remove temporary files left in `directory` by writers that are gone (of file `name`, or of any file).

    A name without a process id is an older release's: its writer is gone too (this release writes none)."""
    directory = os.fspath(directory)
    removed = []
    stem = os.path.splitext(name)[0] if name else None
    pattern = f".{glob.escape(stem)}.*partial*" if stem else ".*.partial*"
    for p in glob.glob(os.path.join(glob.escape(directory), pattern)):
        m = _PARTIAL.match(os.path.basename(p))
        if m is None or (name and m["name"] not in (name, stem)):
            continue
        if m["pid"] and (int(m["pid"]) == os.getpid() or _alive(int(m["pid"]))):
            continue
        try:
            os.unlink(p)
            removed.append(p)
        except OSError:
            pass
    return removed


class _Guarded:
    """A file that remembers its first failed write and drops every later one.

    Writers that clean up after a failure (zipfile's close() from numpy's savez, and its __del__)
    would otherwise write again, fail again and print a second traceback; the first error is the one
    atomic_write reports."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f
        self.error: OSError | None = None
        self.written = 0

    def write(self, data) -> int:
        n = memoryview(data).nbytes
        if self.error is not None:
            return n
        try:
            self._f.write(data)
        except OSError as e:
            self.error = e
            raise
        self.written += n
        return n

    def flush(self) -> None:
        if self.error is None:
            try:
                self._f.flush()
            except OSError as e:
                self.error = e
                raise

    def seek(self, *args) -> int:
        return 0 if self.error is not None else self._f.seek(*args)

    def tell(self) -> int:
        return 0 if self.error is not None else self._f.tell()

    def close(self) -> None:  # atomic_write closes the real file
        pass

    def __getattr__(self, name: str):
        return getattr(self._f, name)


@contextmanager
def atomic_write(path: str | os.PathLike, size: int | None = None) -> Iterator[BinaryIO]:
    """Yield a binary file; on normal exit it replaces `path`, on any exception it is removed.

    size: the bytes about to be written, if known; a filesystem with less free space refuses at once."""
    path = os.fspath(path)
    if size is not None:
        free = free_bytes(os.path.dirname(os.path.abspath(path)))
        if free is not None and free < size:
            raise DiskError(f"cannot write {path}: no space left on the device (needs {megabytes(size)}, "
                            f"{megabytes(free)} free); free some space and run again")
    tmp = temp_path(path)
    guard = None
    try:
        with open(tmp, "wb") as f:
            guard = _Guarded(f)
            yield guard  # type: ignore[misc]
            if guard.error is not None:  # a writer swallowed its own failed write
                raise guard.error
            guard.flush()
        os.replace(tmp, path)
    except BaseException as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        first = guard.error if guard is not None and guard.error is not None else e
        mapped = disk_error(first, path, size)
        if mapped is not None:
            raise mapped from None
        raise
