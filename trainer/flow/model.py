"""The time-dependent vector field v(t, x) of Flowreel's continuous normalizing flow.

Logos have sharp edges and strokes a few pixels wide. A plain MLP on (x, t) is spectrally biased towards
smooth functions and gives a blurry density, so x is lifted with random Fourier features
(sin/cos of 2*pi*B x, B ~ N(0, fourier_scale^2)) before a SiLU MLP with residual blocks. The frequency
scale and widths were chosen by measurement (bench/bench_fit.py, docs/cnf.md): enough resolution for
64x64-bin edges, yet cheap enough that one evaluation on 100k points stays in the millisecond range.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class VectorField(nn.Module):
    """v(t, x): velocity of particles at time t in [0, 1] (t=0 noise N(0, I), t=1 the image).

    forward(t, x): t is a scalar tensor (or float) or a [B] tensor, x is [B, dim]; returns [B, dim].
    The Fourier matrix is a buffer drawn from `feature_seed`, so it is saved with the state dict and a
    model rebuilt from the same hyper-parameters is identical.
    """

    def __init__(
        self,
        dim: int = 2,
        hidden: int = 128,
        depth: int = 3,
        n_fourier: int = 64,
        fourier_scale: float = 1.0,
        time_features: int = 8,
        feature_seed: int = 0,
    ) -> None:
        super().__init__()
        if hidden < 1 or depth < 1 or n_fourier < 0 or time_features < 0:
            raise ValueError("hidden and depth must be >= 1, n_fourier and time_features >= 0")
        self.dim = dim
        self.hidden = hidden
        self.depth = depth
        self.n_fourier = n_fourier
        self.fourier_scale = float(fourier_scale)
        self.time_features = time_features
        gen = torch.Generator().manual_seed(int(feature_seed))
        self.register_buffer("B", torch.randn(dim, n_fourier, generator=gen) * fourier_scale)
        # Fixed log-spaced frequencies for t: the field changes fastest near t=1, where the image forms.
        self.register_buffer("tfreq", math.pi * 2.0 ** torch.arange(time_features, dtype=torch.float32) / 2)
        n_in = dim + 2 * n_fourier + 1 + 2 * time_features
        self.inp = nn.Linear(n_in, hidden)
        self.blocks = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(depth - 1))
        self.out = nn.Linear(hidden, dim)
        self.act = nn.SiLU()

    def features(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        t = torch.as_tensor(t, dtype=x.dtype, device=x.device)
        if t.dim() == 0:
            t = t.expand(x.shape[0])
        t = t.reshape(-1, 1)
        parts = [x, t]
        if self.n_fourier:
            proj = (2 * math.pi) * (x @ self.B)
            parts += [torch.sin(proj), torch.cos(proj)]
        if self.time_features:
            tp = t * self.tfreq
            parts += [torch.sin(tp), torch.cos(tp)]
        return torch.cat(parts, dim=1)

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.inp(self.features(t, x)))
        for lin in self.blocks:
            h = h + self.act(lin(h))  # residual: deeper nets train as fast as shallow ones
        return self.out(h)
