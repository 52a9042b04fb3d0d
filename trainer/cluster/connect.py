"""Reaching a Ray cluster: the address forms, a short reachability check, and one-line errors.

`local` starts a cluster for this run on this machine (on 127.0.0.1); `auto` joins the cluster this
machine belongs to (`ray start` ran here); anything else is a head's GCS address (`host:port`) or a Ray
Client address (`ray://host:port`). An address that does not answer is refused within seconds, naming
it, before anything is fitted or written: Ray's own connect retries for a minute or more.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass

from flowreel.addon.core.errors import FlowreelError

LOCAL, AUTO = "local", "auto"
CONNECT_TIMEOUT_S = 5.0
INSTALL_HINT = "Ray is not installed: `pip install 'flowreel[cluster]'`"


class ClusterError(FlowreelError, RuntimeError):
    """The cluster cannot be reached or a cluster job failed; the message is one line."""


@dataclass
class ClusterInfo:
    address: str
    nodes: int
    cpus: float
    gpus: float
    min_node_cpus: float  # the smallest node's CPUs: a render task takes a whole node's worth


def check_address(text: str) -> str:
    """The address as given, when it has one of the accepted forms (argparse type)."""
    text = text.strip()
    if text in (LOCAL, AUTO):
        return text
    host, port = split_host_port(text)
    if not host or port is None:
        raise ValueError(f"--cluster wants local, auto, HOST:PORT or ray://HOST:PORT, got {text!r}")
    return text


def split_host_port(address: str) -> tuple[str, int | None]:
    rest = address[len("ray://"):] if address.startswith("ray://") else address
    host, _, port = rest.rpartition(":")
    host = host.strip("[]")
    return host, int(port) if port.isdigit() and 0 < int(port) < 65536 else None


def _reachable(address: str) -> None:
    host, port = split_host_port(address)
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as e:
        reason = "timed out" if isinstance(e, TimeoutError) else (e.strerror or str(e) or type(e).__name__).lower()
        raise ClusterError(f"cannot reach the Ray cluster at {address} ({reason})") from None


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ClusterError(INSTALL_HINT) from None
    return ray


def connect(address: str, object_store_bytes: int = 0) -> ClusterInfo:
    """Join (or, for `local`, start) the cluster; idempotent within a process. ClusterError: one line."""
    if address not in (LOCAL, AUTO):
        _reachable(address)
    if address == LOCAL:  # a cluster of this machine only: every service on the loopback address
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    ray = _import_ray()
    if not ray.is_initialized():
        kwargs = {"logging_level": logging.WARNING, "log_to_driver": False, "configure_logging": True}
        if address == LOCAL:
            kwargs.update(include_dashboard=False, _node_ip_address="127.0.0.1",
                          object_store_memory=max(256 << 20, object_store_bytes))
        else:
            kwargs["address"] = address
        try:
            ray.init(**kwargs)
        except Exception as e:  # noqa: BLE001 - Ray raises ConnectionError, RuntimeError, ValueError ...
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise ClusterError(f"cannot join the Ray cluster at {address}: {first}") from None
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    res = ray.cluster_resources()
    cpus = [n["Resources"].get("CPU", 0.0) for n in nodes] or [0.0]
    return ClusterInfo(address, len(nodes), res.get("CPU", 0.0), res.get("GPU", 0.0), min(cpus))


def disconnect() -> None:
    """Leave the cluster (a `local` one stops with it)."""
    import sys

    if "ray" in sys.modules:
        ray = sys.modules["ray"]
        if ray.is_initialized():
            ray.shutdown()
