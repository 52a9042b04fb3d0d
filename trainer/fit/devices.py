"""Torch devices and CPU threads for fitting, export and eval."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from flowreel.addon.core.errors import FlowreelError


class DeviceError(FlowreelError, ValueError):
    """The requested device does not exist on this machine (one-line message)."""


def resolve_device(name: str) -> torch.device:
    """'auto' = cuda, then mps, then cpu; an explicit device must exist (DeviceError otherwise)."""
    name = (name or "auto").strip().lower()
    mps = getattr(torch.backends, "mps", None)
    mps_ok = bool(mps is not None and mps.is_available())
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if mps_ok else torch.device("cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError):
        raise DeviceError(f"unknown device {name!r} (use auto, cpu, cuda, cuda:N or mps)") from None
    if dev.type == "cpu":
        return dev
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            why = "this torch build has no CUDA" if torch.version.cuda is None else "no CUDA GPU is visible"
            raise DeviceError(f"device {name!r} requested but CUDA is not available ({why}); use --device cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeviceError(f"device {name!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist")
        return dev
    if dev.type == "mps":
        if not mps_ok:
            raise DeviceError(f"device {name!r} requested but MPS is not available on this machine; use --device cpu")
        return dev
    raise DeviceError(f"unsupported device {name!r} (use auto, cpu, cuda, cuda:N or mps)")


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """torch's CPU thread count set to n (None: unchanged) inside the block, restored after."""
    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)
