"""Encoding frames to MP4 (H.264, yuv420p) and GIF (palette-optimised) with ffmpeg-python.

Pure Python, no bpy and no torch: the add-on's render script and the trainer's preview both use
this one module. ffmpeg comes from PATH or, failing that, the imageio-ffmpeg wheel's binary.
Outputs are written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterable

import numpy as np


class EncodeError(RuntimeError):
    """ffmpeg is missing or failed; the message is one line."""


def find_ffmpeg() -> str:
    """Path of an ffmpeg binary: $FLOWREEL_FFMPEG, PATH, then imageio-ffmpeg's bundled one."""
    env = os.environ.get("FLOWREEL_FFMPEG")
    if env:
        return env
    exe = shutil.which("ffmpeg")
    if exe:
        return exe
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # noqa: BLE001 - any failure means "not available"
        raise EncodeError("ffmpeg not found: install ffmpeg or `pip install imageio-ffmpeg`") from None


def _ffmpeg():
    try:
        import ffmpeg  # ffmpeg-python
    except ImportError:
        raise EncodeError("ffmpeg-python is not installed: `pip install ffmpeg-python`") from None
    return ffmpeg


def _tmp_name(out_path: str) -> str:
    root, ext = os.path.splitext(out_path)
    return f"{root}.partial{ext}"


def _output(stream, out_path: str, fps: float, gif_width: int | None):
    ffmpeg = _ffmpeg()
    ext = os.path.splitext(out_path)[1].lower()
    tmp = _tmp_name(out_path)
    if ext == ".gif":
        if gif_width:
            stream = stream.filter("scale", gif_width, -1, flags="lanczos")
        split = stream.filter_multi_output("split")
        palette = split[0].filter("palettegen", stats_mode="diff")
        stream = ffmpeg.filter([split[1], palette], "paletteuse", dither="sierra2_4a")
        return stream.output(tmp, loop=0, r=fps), tmp
    if ext in (".mp4", ".mov", ".mkv"):
        stream = stream.filter("pad", "ceil(iw/2)*2", "ceil(ih/2)*2")  # yuv420p needs even sides
        return (
            stream.output(
                tmp, vcodec="libx264", pix_fmt="yuv420p", crf=18, preset="medium", r=fps, movflags="+faststart"
            ),
            tmp,
        )
    raise EncodeError(f"{os.path.basename(out_path)}: unknown video type {ext!r} (use .mp4 or .gif)")


def _discard(tmp: str) -> None:
    """Remove a half-written output (ffmpeg writes to the temporary name; the real name is untouched)."""
    if os.path.exists(tmp):
        os.unlink(tmp)


def _fail(e_stderr: bytes, tmp: str, out_path: str, fallback: str) -> EncodeError:
    _discard(tmp)
    lines = [ln for ln in (e_stderr or b"").decode("utf-8", "replace").splitlines() if ln.strip()]
    return EncodeError(f"ffmpeg failed writing {os.path.basename(out_path)}: {lines[-1] if lines else fallback}")


def _run(out, tmp: str, out_path: str) -> str:
    ffmpeg = _ffmpeg()
    try:
        out.overwrite_output().run(cmd=find_ffmpeg(), quiet=True)
    except ffmpeg.Error as e:
        raise _fail(e.stderr, tmp, out_path, str(e)) from None
    except BaseException:
        _discard(tmp)
        raise
    os.replace(tmp, out_path)
    return out_path


def encode_image_sequence(
    pattern: str, out_path: str, fps: float, start_number: int = 0, gif_width: int | None = None
) -> str:
    """Encode numbered images (an ffmpeg pattern such as ``frames/%04d.png``) to .mp4 or .gif."""
    stream = _ffmpeg().input(pattern, framerate=fps, start_number=start_number)
    out, tmp = _output(stream, out_path, fps, gif_width)
    return _run(out, tmp, out_path)


def encode_arrays(frames: Iterable[np.ndarray], out_path: str, fps: float, gif_width: int | None = None) -> str:
    """Encode uint8 RGB frames [H, W, 3] (all the same size) to .mp4 or .gif.

    Frames are streamed to ffmpeg's stdin as they come, so a generator keeps memory at one frame.
    """
    it = iter(frames)
    first = next(it, None)
    if first is None:
        raise EncodeError("no frames to encode")
    h, w = first.shape[:2]
    stream = _ffmpeg().input("pipe:", format="rawvideo", pix_fmt="rgb24", s=f"{w}x{h}", framerate=fps)
    out, tmp = _output(stream, out_path, fps, gif_width)
    # Errors only on stderr, so its pipe cannot fill up and block ffmpeg while we feed stdin.
    proc = out.global_args("-loglevel", "error").overwrite_output().run_async(
        cmd=find_ffmpeg(), pipe_stdin=True, pipe_stderr=True
    )
    try:
        for frame in itertools.chain([first], it):
            if frame.shape[:2] != (h, w):
                raise EncodeError(f"frame of size {frame.shape[1]}x{frame.shape[0]} among {w}x{h} frames")
            proc.stdin.write(np.ascontiguousarray(frame[..., :3], dtype=np.uint8).tobytes())
        proc.stdin.close()
        err = proc.stderr.read()
        if proc.wait() != 0:
            raise _fail(err, tmp, out_path, f"exit {proc.returncode}")
    except BrokenPipeError:
        proc.wait()
        raise _fail(proc.stderr.read(), tmp, out_path, "ffmpeg stopped reading frames") from None
    except BaseException:
        proc.kill()
        proc.wait()
        _discard(tmp)
        raise
    os.replace(tmp, out_path)
    return out_path
