"""Encoding frames to MP4 (H.264, yuv420p) and GIF (palette-optimised) with ffmpeg-python.

Pure Python, no bpy and no torch: the add-on's render script and the trainer's preview both use
this one module. ffmpeg comes from PATH or, failing that, the imageio-ffmpeg wheel's binary.
Outputs are written under a unique temporary name (core.atomic) and renamed only once ffmpeg has
read them back whole: every frame decodes, as many as went in (`verify`). Paths are passed as
absolute paths in an argument list, never through a shell, and a frames folder's name is escaped
before it becomes an ffmpeg pattern (`frames_pattern`), so `%`, quotes, spaces or a leading `-` in
an output name stay plain characters.
"""

from __future__ import annotations

import errno
import itertools
import os
import shutil
import subprocess
from collections.abc import Iterable
from fractions import Fraction

import numpy as np

from .atomic import temp_path
from .child import die_with_parent
from .errors import FlowreelError, disk_error


class EncodeError(FlowreelError, RuntimeError):
    """ffmpeg is missing or failed, or wrote a film that does not read back whole; the message is one line."""


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


def frames_pattern(folder: str | os.PathLike, pattern: str) -> str:
    """An ffmpeg image-sequence pattern (`pattern` holds the one %04d) in `folder`, whatever its name:
    a `%` in the folder's path is doubled, the image2 reader's literal percent sign."""
    return os.path.join(os.path.abspath(os.fspath(folder)).replace("%", "%%"), pattern)


def _output(stream, out_path: str, fps: float, gif_width: int | None):
    ffmpeg = _ffmpeg()
    ext = os.path.splitext(out_path)[1].lower()
    if ext not in (".gif", ".mp4", ".mkv", *ALPHA_CODECS):
        raise EncodeError(f"{os.path.basename(out_path)}: unknown video type {ext!r} (use .mp4, .gif, .mov or .webm)")
    tmp = temp_path(out_path, keep_suffix=True)
    if ext in ALPHA_CODECS:
        return _alpha_output(stream, tmp, ext, fps), tmp
    if ext == ".gif":
        if gif_width:
            stream = stream.filter("scale", gif_width, -1, flags="lanczos")
        split = stream.filter_multi_output("split")
        palette = split[0].filter("palettegen", stats_mode="diff")
        stream = ffmpeg.filter([split[1], palette], "paletteuse", dither="sierra2_4a")
        return stream.output(tmp, loop=0, r=fps), tmp
    if ext in (".mp4", ".mkv"):
        stream = stream.filter("pad", "ceil(iw/2)*2", "ceil(ih/2)*2")  # yuv420p needs even sides
        return (
            stream.output(
                tmp, vcodec="libx264", pix_fmt="yuv420p", crf=18, preset="medium", r=fps, movflags="+faststart"
            ),
            tmp,
        )
    raise EncodeError(f"{os.path.basename(out_path)}: unknown video type {ext!r} (use .mp4 or .gif)")


# Films that keep the frames' alpha (an RGB frame gets an opaque one): ProRes 4444 with 10-bit alpha in a
# .mov, the editors' intermediate; VP9 with alpha in a .webm, for the web (its 4:2:0 chroma needs even sides).
ALPHA_CODECS = {
    ".mov": {"vcodec": "prores_ks", "profile:v": "4444", "pix_fmt": "yuva444p10le", "vendor": "apl0"},
    ".webm": {"vcodec": "libvpx-vp9", "pix_fmt": "yuva420p", "crf": 24, "b:v": 0, "row-mt": 1,
              "auto-alt-ref": 0},  # alt-ref frames cannot carry alpha
}


def _alpha_output(stream, tmp: str, ext: str, fps: float):
    if ext == ".webm":
        stream = stream.filter("pad", "ceil(iw/2)*2", "ceil(ih/2)*2", color="black@0")
    return stream.output(tmp, r=fps, **ALPHA_CODECS[ext])


def _discard(tmp: str) -> None:
    """Remove a half-written output (ffmpeg writes to the temporary name; the real name is untouched)."""
    if os.path.exists(tmp):
        os.unlink(tmp)


def _fail(e_stderr: bytes, tmp: str, out_path: str, fallback: str) -> FlowreelError:
    _discard(tmp)
    text = (e_stderr or b"").decode("utf-8", "replace")
    if "No space left on device" in text or "Disk quota exceeded" in text:
        return disk_error(OSError(errno.ENOSPC, "No space left on device"), out_path)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return EncodeError(f"ffmpeg failed writing {os.path.basename(out_path)}: {lines[-1] if lines else fallback}")


def verify(path: str, frames: int | None, fps: float | None = None) -> int:
    """Decode every frame of the video at `path`; EncodeError unless it reads back whole: no decoding error,
    `frames` frames (when given) lasting frames / fps seconds (when given, to within a frame). Returns the
    number of frames. ffmpeg's framecrc lists one line per decoded frame with its time stamp."""
    name = os.path.basename(path)
    r = subprocess.run([find_ffmpeg(), "-nostdin", "-v", "error", "-i", os.path.abspath(path), "-map", "0:v:0",
                        "-f", "framecrc", "-"], capture_output=True, preexec_fn=die_with_parent())  # fmt: skip
    err = [ln for ln in r.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    if r.returncode != 0 or err:
        raise EncodeError(f"{name} does not read back: {err[-1] if err else f'ffmpeg exit {r.returncode}'}")
    lines = r.stdout.decode("ascii", "replace").splitlines()
    rows = [ln.split(",") for ln in lines if ln and not ln.startswith("#")]
    tb = next((ln.split()[-1] for ln in lines if ln.startswith("#tb 0:")), "1/1")
    if not rows or (frames is not None and len(rows) != frames):
        raise EncodeError(f"{name} does not read back: {len(rows)} frames, expected {frames}")
    if fps and frames:
        end = (int(rows[-1][2]) + int(rows[-1][3])) * Fraction(tb)
        if abs(float(end) - frames / fps) > 1.0 / fps + 1e-6:
            raise EncodeError(f"{name} does not read back: lasts {float(end):.3f} s, expected {frames / fps:.3f} s")
    return len(rows)


def _place(tmp: str, out_path: str, frames: int | None, fps: float) -> str:
    """Verify the finished temporary file, then rename it into place (the old film stays until then)."""
    try:
        # A GIF's frame count is ffmpeg's business (its encoder may merge still frames); it must decode.
        verify(tmp, None if out_path.lower().endswith(".gif") else frames, None if frames is None else fps)
        os.replace(tmp, out_path)
    except BaseException as e:
        _discard(tmp)
        mapped = disk_error(e, out_path)
        if mapped is not None:
            raise mapped from None
        raise
    return out_path


def _run(out, tmp: str, out_path: str, frames: int | None, fps: float) -> str:
    ffmpeg = _ffmpeg()
    try:
        args = out.overwrite_output().compile(cmd=find_ffmpeg())
        r = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, preexec_fn=die_with_parent())
        if r.returncode != 0:
            raise ffmpeg.Error("ffmpeg", r.stdout, r.stderr)
    except ffmpeg.Error as e:
        raise _fail(e.stderr, tmp, out_path, str(e)) from None
    except BaseException:
        _discard(tmp)
        raise
    return _place(tmp, out_path, frames, fps)


def sequence_length(pattern: str, start_number: int) -> int:
    """How many numbered images ffmpeg's image2 reader takes from `pattern`: consecutive from start_number."""
    n = 0
    while os.path.isfile(pattern % (start_number + n)):  # Python's % reads the escaped pattern as ffmpeg does
        n += 1
    return n


def encode_image_sequence(
    pattern: str, out_path: str, fps: float, start_number: int = 0, gif_width: int | None = None
) -> str:
    """Encode numbered images (an ffmpeg pattern such as ``frames/%04d.png``, see `frames_pattern`) to .mp4 or
    .gif; the film is verified before it replaces `out_path`."""
    out_path = os.path.abspath(out_path)
    frames = sequence_length(pattern, start_number)
    if frames == 0:
        raise EncodeError(f"ffmpeg failed writing {os.path.basename(out_path)}: no frames at "
                          f"{pattern.replace('%%', '%')} from number {start_number}")
    stream = _ffmpeg().input(os.path.abspath(pattern), framerate=fps, start_number=start_number)
    out, tmp = _output(stream, out_path, fps, gif_width)
    return _run(out, tmp, out_path, frames, fps)


def encode_arrays(frames: Iterable[np.ndarray], out_path: str, fps: float, gif_width: int | None = None) -> str:
    """Encode uint8 RGB frames [H, W, 3] (all the same size) to .mp4 or .gif.

    Frames are streamed to ffmpeg's stdin as they come, so a generator keeps memory at one frame.
    """
    out_path = os.path.abspath(out_path)
    it = iter(frames)
    first = next(it, None)
    if first is None:
        raise EncodeError("no frames to encode")
    h, w = first.shape[:2]
    stream = _ffmpeg().input("pipe:", format="rawvideo", pix_fmt="rgb24", s=f"{w}x{h}", framerate=fps)
    out, tmp = _output(stream, out_path, fps, gif_width)
    # Errors only on stderr, so its pipe cannot fill up and block ffmpeg while we feed stdin.
    args = out.global_args("-loglevel", "error").overwrite_output().compile(cmd=find_ffmpeg())
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=die_with_parent())
    count = 0
    try:
        for frame in itertools.chain([first], it):
            count += 1
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
    return _place(tmp, out_path, count, fps)
