"""Layers that let a discriminator look at a whole batch, so a collapsed generator (all rows alike) is visible.

``MinibatchDiscrimination`` is Salimans et al. 2016 (Improved techniques for training GANs, §3.2);
``MinibatchStd`` is the simpler statistic of Karras et al. 2018 (progressive growing, §3).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class MinibatchDiscrimination(nn.Module):
    """features f (N, A) → [f | o(f)] (N, A + B): B kernels of dimension C.

    M_i = f_i · T reshaped to (B, C); c_b(x_i, x_j) = exp(−‖M_i,b − M_j,b‖₁); o(x_i)_b = Σ_j c_b(x_i, x_j),
    the sum running over the whole batch, j = i included (as in the paper: a row alone gets o = 1).
    T starts at N(0, 1/A), so the L1 distances start O(C) whatever A is and exp(−·) does not vanish.
    """

    def __init__(self, in_features: int, num_kernels: int, kernel_dim: int = 5):
        super().__init__()
        for name, v in (("in_features", in_features), ("num_kernels", num_kernels), ("kernel_dim", kernel_dim)):
            if not isinstance(v, int) or v <= 0:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        self.in_features, self.num_kernels, self.kernel_dim = in_features, num_kernels, kernel_dim
        self.T = nn.Parameter(torch.randn(in_features, num_kernels * kernel_dim) / math.sqrt(in_features))

    @property
    def out_features(self) -> int:
        return self.in_features + self.num_kernels

    def forward(self, f: Tensor) -> Tensor:
        if f.dim() != 2 or f.shape[1] != self.in_features:
            raise ValueError(f"features must have shape (N, {self.in_features}), got {tuple(f.shape)}")
        m = (f @ self.T).view(-1, self.num_kernels, self.kernel_dim)        # (N, B, C)
        l1 = (m[:, None] - m[None]).abs().sum(-1)                            # (N, N, B)
        return torch.cat([f, torch.exp(-l1).sum(1)], 1)


class MinibatchStd(nn.Module):
    """x (N, C, H, W) → (N, C + 1, H, W): the std over each group of rows, per feature and pixel,
    averaged to one number per group and appended as a constant channel.

    Rows i and i + N/G share a group (Karras' strided grouping); when N is not a multiple of
    ``group_size`` the whole batch is one group. The std is the biased one, sqrt(var + ε).
    """

    def __init__(self, group_size: int = 4, eps: float = 1e-8):
        super().__init__()
        if not isinstance(group_size, int) or group_size < 1:
            raise ValueError(f"group_size must be a positive integer, got {group_size!r}")
        self.group_size, self.eps = group_size, eps

    def forward(self, x: Tensor) -> Tensor:
        n, _, h, w = x.shape
        g = min(self.group_size, n)
        g = g if n % g == 0 else n
        y = x.view(g, n // g, *x.shape[1:])
        std = (y.var(0, unbiased=False) + self.eps).sqrt().mean((1, 2, 3))  # (N / G,)
        return torch.cat([x, std.repeat(g)[:, None, None, None].expand(n, 1, h, w)], 1)
