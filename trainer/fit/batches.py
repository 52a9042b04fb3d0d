"""Training batches: drawn from per-step seeds, on worker threads, ahead of the optimizer.

Flow matching's minibatch optimal-transport pairing (an exact assignment per block) costs more CPU than
the network step itself (bench/results/defaults.md), and it does not depend on the model. So batches
are made on worker threads (scipy's assignment and numpy's sampling release the GIL) while the main
thread trains: on two cores the step costs what the network costs.

Batch ``k`` is drawn from its own generator, seeded by ``(seed, k)``. A batch therefore does not depend on
which thread made it, how far ahead the workers ran, or whether the run was interrupted and resumed: a
seed gives the same batches, and a resumed run the same steps as an uninterrupted one, with any number of
workers.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

import numpy as np

from flowreel.trainer.targets.picture import ImageDensity

T = TypeVar("T")


def step_rng(seed: int, step: int) -> np.random.Generator:
    """The generator of training step ``step`` (independent of every other step's and of the metric's)."""
    return np.random.default_rng([int(seed), 2, int(step)])


def ot_pair(x0: np.ndarray, x1: np.ndarray, block: int) -> np.ndarray:
    """Reorder x1 so that (x0[i], x1[i]) is an exact squared-distance optimal assignment within each block."""
    from scipy.optimize import linear_sum_assignment

    out = x1.copy()
    for s in range(0, len(x0), block):
        a, b = x0[s:s + block], x1[s:s + block]
        cost = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
        _, cols = linear_sum_assignment(cost)
        out[s:s + block] = b[cols]
    return out


def fm_batch(density: ImageDensity, rng: np.random.Generator, *, batch_size: int, ot: bool, ot_block: int,
             t_power: float, sigma: float, source: ImageDensity | None = None) -> dict[str, np.ndarray]:
    """One flow-matching batch: source x0, (OT-paired) image points x1, times t, optional path noise eps.

    x0 is N(0, I) noise, or with `source` exact samples of another picture (a morph from it to `density`;
    trainer.sequence.plan). The noise path draws exactly what it drew before sources existed.
    """
    x1 = density.sample(batch_size, rng)
    x0 = rng.standard_normal(x1.shape).astype(np.float32) if source is None else source.sample(len(x1), rng)
    if ot:
        x1 = ot_pair(x0, x1, ot_block)
    u = rng.random(len(x1))
    t = (1 - (1 - u) ** t_power if t_power != 1 else u).astype(np.float32)
    batch = {"x0": x0, "x1": x1, "t": t}
    if sigma > 0:
        batch["eps"] = rng.standard_normal(x1.shape).astype(np.float32)
    return batch


def default_workers() -> int:
    """One worker per core the main thread leaves free, at least one, at most three (more is idle time)."""
    return max(1, min(3, (os.cpu_count() or 2) - 1))


class Prefetcher(Generic[T]):
    """``get(k)`` returns ``draw(k)`` for consecutive k from ``start``, computed up to ``depth`` steps ahead
    on ``workers`` threads (``workers=0``: computed in the caller, no threads). ``close()`` drops work not
    yet started; use it as a context manager."""

    def __init__(self, draw: Callable[[int], T], start: int, stop: int, *, workers: int, depth: int = 16) -> None:
        self._draw = draw
        self._next = start
        self._stop = stop
        self._depth = max(1, depth)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="flowreel-batch") if workers > 0 else None
        self._ahead: deque[tuple[int, Future[T]]] = deque()
        self._fill()

    def _fill(self) -> None:
        while self._pool is not None and len(self._ahead) < self._depth and self._next < self._stop:
            self._ahead.append((self._next, self._pool.submit(self._draw, self._next)))
            self._next += 1

    def get(self, k: int) -> T:
        if self._pool is None:
            return self._draw(k)
        step, fut = self._ahead.popleft()
        if step != k:
            raise RuntimeError(f"batches must be taken in order: asked for {k}, next is {step}")
        self._fill()
        return fut.result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._ahead.clear()

    def __enter__(self) -> Prefetcher[T]:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
