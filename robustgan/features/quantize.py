"""8-bit images: the 1/255 grid that PNG, JPEG and most datasets store, and adversarial examples
that stay adversarial on it.

An attack's float perturbation loses part of its effect when rounded to 8 bits. Two answers here:
:func:`snap_to_grid` rounds to the nearest grid point that is still inside the ball (never outside
it), and :func:`quantization_aware` then continues the attack *on the grid* — sign steps of one
grey level, each projected onto ball ∩ box ∩ grid — for the examples rounding broke, with the one
optimiser.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ..data.formats import quantize
from ..optim import Ball, Box, Sign, frozen, optimize
from ..optim.projections import lp_norm

LEVELS = 255


def check_on_grid(x: Tensor, levels: int = LEVELS, tol: float = 1e-4) -> None:
    """Refuse images that are not 8-bit values k/255: rounding would then move the clean image too."""
    off = float(((x * levels) - (x * levels).round()).abs().max()) if x.numel() else 0.0
    if off > tol:
        raise ValueError(f"images: quantisation-aware crafting needs 8-bit images (values k/{levels}); "
                         f"these are {off:.3g} grey levels off the grid")


def distortion(delta: Tensor, p: float) -> Tensor:
    """Per-example Lp size of a perturbation; p = 0 counts the changed pixels (any channel)."""
    if p == 0:
        flat = delta.reshape(delta.shape[0], delta.shape[1], -1) if delta.dim() > 2 else delta[:, None]
        return (flat.abs() > 0).any(dim=1).sum(dim=1).to(delta.dtype)
    return lp_norm(delta, p)


def snap_to_grid(x: Tensor, origin: Tensor, radius: Tensor, p: float, levels: int = LEVELS) -> Tensor:
    """The grid point nearest ``x`` inside the Lp ball around ``origin`` (itself on the grid) ∩ [0, 1].

    Computed in whole grey levels, so the result is exactly k/levels. L∞: the rounded point
    clamped to the grid's part of the ball. L0: plain rounding (it never changes a pixel that did
    not move). L1/L2: where rounding pushed the row out of the ball, the coordinates rounded away
    from ``origin`` are rounded toward it instead, cheapest first (least extra distance from ``x``
    per unit of norm given back), until the row is inside."""
    shape = (-1, *([1] * (x.dim() - 1)))
    at = (origin * levels).round()
    moved = x.clamp(0, 1) * levels - at  # the perturbation in grey levels
    units = moved.round()
    if p == float("inf"):
        reach = torch.floor(radius.reshape(shape).to(x.dtype) * levels + 1e-3)
        return (at + units.clamp(-reach, reach)).clamp(0, levels) / levels
    if p == 0:
        return (at + units).clamp(0, levels) / levels
    n = x.shape[0]
    q, d = units.reshape(n, -1), moved.reshape(n, -1)
    budget = (radius.to(x.dtype) * levels).clamp_min(0) ** p * (1 + 1e-6) + 1e-6
    excess = q.abs().pow(p).sum(dim=1) - budget
    if bool((excess > 0).any()):
        away = (q.abs() > d.abs()) & (q != 0)  # rounded away from the origin: may go the other way
        gain = torch.where(away, q.abs().pow(p) - (q.abs() - 1).pow(p), torch.zeros_like(q))
        cost = torch.where(away, 2 * (d.abs() - d.abs().floor()) - 1, torch.full_like(q, float("inf")))
        order = (cost / gain.clamp_min(1e-12)).argsort(dim=1)
        running = gain.gather(1, order).cumsum(dim=1)
        # switch every coordinate up to and including the first whose running gain covers the excess
        take = (running - gain.gather(1, order)) < excess[:, None]
        switch = torch.zeros_like(away).scatter(1, order, take) & away & (excess > 0)[:, None]
        q = torch.where(switch, q - q.sign(), q)
        still = q.abs().pow(p).sum(dim=1) > budget  # the float point itself was outside: truncate the row
        q = torch.where(still[:, None], d.sign() * d.abs().floor(), q)
    return (at + q.reshape(units.shape)).clamp(0, levels) / levels


class OnGrid:
    """A ball ∩ box constraint whose projection also snaps to the 8-bit grid (see :func:`snap_to_grid`)."""

    def __init__(self, ball: Ball, levels: int = LEVELS):
        self.ball, self.levels = ball, levels
        self.box = ball.box or Box(0, 1)

    def radii(self, n: int, device, dtype) -> Tensor:
        return self.ball.radii(n, device, dtype)

    def project(self, x: Tensor, origin: Tensor, radius: Tensor) -> Tensor:
        return snap_to_grid(self.ball.project(x, origin, radius), origin, radius, self.ball.p, self.levels)


def quantization_aware(model, x_adv: Tensor, x: Tensor, eps: Tensor, p: float, goal: Tensor, targeted: bool,
                       *, steps: int = 20) -> tuple:
    """``(images on the grid, number of examples the grid steps recovered)``.

    Every example is snapped into the ball on the grid; those the rounding left unsuccessful
    (``goal``: the label, or the target when ``targeted``) take up to ``steps`` sign steps of one
    grey level from there on the cross-entropy, each projected onto ball ∩ box ∩ grid, and keep
    their first successful grid point (else the snapped one)."""
    from attacks._common import adversarial_loss, fooled, misclassified

    check_on_grid(x)
    q = snap_to_grid(x_adv, x, eps, p)
    if p == 0 or steps == 0:  # no L0 ball among the optimiser's projections: snapping alone (adds no pixel)
        return q, 0
    with frozen([model]), torch.no_grad():
        failed = ~misclassified(model(q), goal, targeted)
    if not bool(failed.any()):
        return q, 0
    idx = failed.nonzero().squeeze(1)
    grid = OnGrid(Ball(p, eps[idx]) & Box(0, 1))
    res = optimize(model, q[idx], adversarial_loss("ce", targeted), step=Sign(1.0 / LEVELS), steps=steps,
                   constraint=grid, origin=x[idx], target=goal[idx], success=fooled(targeted),
                   stop_on_success=True, keep="best")
    q = q.clone()
    q[idx] = res.x
    return q, int(res.success.sum())


__all__ = ["LEVELS", "OnGrid", "check_on_grid", "distortion", "quantization_aware", "quantize", "snap_to_grid"]
