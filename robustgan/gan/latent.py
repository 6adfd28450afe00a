"""Latent-space tools: truncation, spherical interpolation grids, attribute vector arithmetic.

Gaussian latents concentrate on a sphere of radius ≈ √d, so paths between two latents follow
great circles (slerp, White 2016) rather than chords, which pass through the unlikely low-norm
interior. Truncation trades variety for fidelity (BigGAN's resampling, StyleGAN's ψ). Attribute
arithmetic (Radford et al. 2016) averages the latents of samples a classifier puts in a class.
"""
from __future__ import annotations

from typing import Optional, Tuple, Union

import torch
from torch import Tensor, nn

from ..optim.freeze import frozen


def truncated_normal(shape: Tuple[int, ...], threshold: float, generator: Optional[torch.Generator] = None,
                     device: Optional[torch.device] = None) -> Tensor:
    """N(0, 1) samples with every entry of magnitude above ``threshold`` redrawn (BigGAN's truncation)."""
    if not threshold > 0:
        raise ValueError(f"truncation threshold must be positive, got {threshold}")
    z = torch.randn(shape, generator=generator, device=device)
    while True:
        bad = z.abs() > threshold
        count = int(bad.sum())
        if count == 0:
            return z
        z[bad] = torch.randn(count, generator=generator, device=device)


def truncated_latent(g: nn.Module, n: int, threshold: float, generator: Optional[torch.Generator] = None) -> Tensor:
    """``n`` latents for generator ``g`` (on CPU) whose noise part is truncated; InfoGAN codes keep their prior."""
    z = g.sample_latent(n, generator, device=torch.device("cpu"))
    noise_dim = getattr(g, "noise_dim", z.shape[1])
    z[:, :noise_dim] = truncated_normal((n, noise_dim), threshold, generator)
    return z


def truncate(z: Tensor, psi: float, center: Optional[Tensor] = None) -> Tensor:
    """center + ψ·(z − center): ψ = 1 keeps z, ψ = 0 collapses every sample onto the center (default 0)."""
    if not 0.0 <= psi <= 1.0:
        raise ValueError(f"psi must be in [0, 1], got {psi}")
    center = torch.zeros_like(z) if center is None else center.to(z)
    return center + psi * (z - center)


def slerp(a: Tensor, b: Tensor, t: Union[float, Tensor]) -> Tensor:
    """Spherical interpolation between latents ``a`` and ``b`` (…, d) at fraction(s) ``t``.

    ``t`` may be a float or a tensor broadcastable against ``a[..., :1]``; parallel vectors fall
    back to linear interpolation, which is then the same path.
    """
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    t = torch.as_tensor(t, dtype=a.dtype, device=a.device)
    if t.dim() and t.shape[-1] != 1:
        t = t.unsqueeze(-1)
    cos = (nn.functional.normalize(a, dim=-1) * nn.functional.normalize(b, dim=-1)).sum(-1, keepdim=True).clamp(-1, 1)
    omega = torch.arccos(cos)
    so = torch.sin(omega)
    safe = so.abs() > 1e-6
    so_safe = torch.where(safe, so, torch.ones_like(so))
    spherical = (torch.sin((1 - t) * omega) / so_safe) * a + (torch.sin(t * omega) / so_safe) * b
    return torch.where(safe, spherical, (1 - t) * a + t * b)


def interpolation_grid(starts: Tensor, ends: Tensor, steps: int = 8, method: str = "slerp") -> Tensor:
    """Rows of interpolated latents: row i goes from ``starts[i]`` to ``ends[i]`` in ``steps`` points.

    Returns (rows·steps, d), ordered row by row, ready for ``G`` and a grid with ``nrow=steps``.
    """
    if starts.dim() != 2 or starts.shape != ends.shape:
        raise ValueError(f"starts and ends must be (rows, d) of the same shape, got {tuple(starts.shape)}, {tuple(ends.shape)}")
    if steps < 2:
        raise ValueError(f"steps must be ≥ 2, got {steps}")
    if method not in ("slerp", "lerp"):
        raise ValueError(f"method must be 'slerp' or 'lerp', got {method!r}")
    t = torch.linspace(0, 1, steps, dtype=starts.dtype, device=starts.device)[None, :, None]  # (1, steps, 1)
    a, b = starts[:, None, :].expand(-1, steps, -1), ends[:, None, :].expand(-1, steps, -1)
    path = slerp(a, b, t) if method == "slerp" else (1 - t) * a + t * b
    return path.reshape(-1, starts.shape[1])


@torch.no_grad()
def class_mean_latents(g: nn.Module, classifier: nn.Module, n: int = 2000, generator: Optional[torch.Generator] = None,
                       num_classes: Optional[int] = None, batch_size: int = 500) -> Tuple[Tensor, Tensor]:
    """(means (K, d), counts (K,)): the mean latent of the samples of an unconditional generator
    that ``classifier`` assigns to each class (NaN rows for classes never predicted).

    Both networks are run in eval mode and handed back as they were.
    """
    if getattr(g, "num_classes", 0):
        raise ValueError("this generator takes the class as an input; class means of z apply to unconditional generators")
    device = next(g.parameters()).device
    c_device = next(classifier.parameters()).device
    zs, preds = [], []
    with frozen([g, classifier]):
        for start in range(0, n, batch_size):
            z = g.sample_latent(min(batch_size, n - start), generator, device=torch.device("cpu"))
            preds.append(classifier(g(z.to(device)).to(c_device)).argmax(1).cpu())
            zs.append(z)
    z, pred = torch.cat(zs), torch.cat(preds)
    k = num_classes or int(pred.max()) + 1
    counts = torch.bincount(pred, minlength=k)
    sums = torch.zeros(k, z.shape[1], dtype=z.dtype).index_add_(0, pred, z)
    means = sums / counts[:, None].to(z.dtype)  # 0/0 = NaN marks a class with no samples
    return means, counts


def attribute_vector(means: Tensor, a: int, b: int, c: int) -> Tensor:
    """mean(a) − mean(b) + mean(c): "a, without what makes it b, with what makes c" (Radford et al.)."""
    k = means.shape[0]
    for name, v in (("a", a), ("b", b), ("c", c)):
        if not 0 <= v < k:
            raise ValueError(f"class {name}={v} out of range [0, {k})")
        if torch.isnan(means[v]).any():
            raise ValueError(f"class {v} has no samples: no mean latent to use")
    return means[a] - means[b] + means[c]
