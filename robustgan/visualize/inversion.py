"""Feature inversion (Mahendran & Vedaldi 2015): which images does a layer consider equal to this one?

Minimise, from random noise,

    ‖Φ(x) − Φ₀‖² / ‖Φ₀‖²  +  λ_α · ‖x − x̄‖_α^α / (H·W·B^α)  +  λ_TV · TV^β(x) / (H·W·V^β)

where Φ₀ = Φ(x₀) is the layer's code of the image, x̄ the mean (the paper inverts mean-subtracted
images), B the pixel range and V = B/6.5 (the normalisation that makes the λ's independent of image
size and range). Each layer is one run of :func:`robustgan.optim.optimize`, all images batched.
The reported error is the paper's normalised reconstruction error ‖Φ(x) − Φ₀‖ / ‖Φ₀‖.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Union

import torch
from torch import Tensor, nn

from ..deprecation import renamed_attributes
from ..objectives import AlphaNorm, FeatureMatch, Objective, TotalVariation, mahendran_normalizers, total_variation
from ..optim import Adam, Box, optimize
from ..validation import check_images
from .layers import layer_features


@dataclass
class FeatureInversion:
    """Reconstructions of one layer's code, with the normalised feature error and TV^β per image
    (images found for a layer's features; :class:`robustgan.gan.inversion.LatentInversion` is the
    latent of a GAN found for an image)."""

    layer: str
    x: Tensor
    error: Tensor
    tv: Tensor
    loss: Tensor
    trace: List[float] = field(default_factory=list)

    def summary(self) -> Dict[str, Any]:
        return {"layer": self.layer, "feature_error": self.error.tolist(), "mean_feature_error": float(self.error.mean()),
                "tv": self.tv.tolist(), "mean_tv": float(self.tv.mean()), "steps": len(self.trace) - 1}


def feature_error(model: nn.Module, x: Tensor, target: Tensor, layer: str) -> Tensor:
    """‖Φ(x) − Φ₀‖ / ‖Φ₀‖ per image."""
    phi = layer_features(model, x, layer).reshape(x.shape[0], -1)
    ref = target.reshape(target.shape[0], -1).to(phi)
    return (phi - ref).norm(dim=1) / ref.norm(dim=1).clamp_min(1e-12)


def inversion_objective(layer: str, target: Tensor, shape: Sequence[int], *, alpha: float = 6.0,
                        lambda_alpha: float = 1e-3, beta: float = 2.0, lambda_tv: float = 0.05,
                        center: Union[float, Tensor] = 0.0, pixel_range: float = 1.0,
                        v_ratio: float = 6.5) -> Objective:
    """The paper's objective with its normalised λ's (terms with λ = 0 are left out)."""
    if lambda_alpha < 0 or lambda_tv < 0:
        raise ValueError("lambda_alpha and lambda_tv must be >= 0")
    norm_alpha, norm_tv = mahendran_normalizers(shape, alpha, beta, pixel_range, v_ratio)
    objective: Objective = FeatureMatch(layer, target)
    if lambda_alpha:
        objective = objective + lambda_alpha * AlphaNorm(alpha, center, norm_alpha)
    if lambda_tv:
        objective = objective + lambda_tv * TotalVariation(beta, norm_tv)
    return objective


def invert_features(model: nn.Module, images: Tensor, layer: str, *, steps: int = 300, step_size: float = 0.02,
                    alpha: float = 6.0, lambda_alpha: float = 1e-3, beta: float = 2.0, lambda_tv: float = 0.05,
                    center: Optional[Union[float, Tensor]] = None, pixel_range: float = 1.0, v_ratio: float = 6.5,
                    start: Optional[Tensor] = None, noise: float = 0.5, seed: int = 0,
                    progress: bool = False) -> FeatureInversion:
    """Reconstruct ``images`` (N, C, H, W in [0, 1]) from their code at ``layer``.

    ``center`` (x̄) defaults to each channel's mean over ``images``. The start is x̄ plus
    uniform noise of amplitude ``noise`` (seeded), clipped to the box, unless ``start`` is given.
    """
    check_images(images)
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    device = images.device
    if center is None:
        center = images.mean(dim=(0, 2, 3), keepdim=True)
    target = layer_features(model, images, layer)
    if start is None:
        gen = torch.Generator().manual_seed(seed)
        u = torch.rand(images.shape, generator=gen).to(device, images.dtype) * 2 - 1
        c = center.to(device) if isinstance(center, Tensor) else center
        start = (c + noise * u).clamp(0, 1).expand_as(images).contiguous()
    else:
        check_images(start, "start")
        if start.shape != images.shape:
            raise ValueError(f"start must have the images' shape {tuple(images.shape)}, got {tuple(start.shape)}")
    objective = inversion_objective(layer, target, images.shape, alpha=alpha, lambda_alpha=lambda_alpha, beta=beta,
                                    lambda_tv=lambda_tv, center=center, pixel_range=pixel_range, v_ratio=v_ratio)
    res = optimize(model, start, objective, step=Adam(step_size), steps=steps, constraint=Box(0, 1),
                   progress=progress, desc=f"invert {layer}")
    error = feature_error(model, res.x, target, layer)
    return FeatureInversion(layer, res.x, error, total_variation(res.x, beta), res.loss, res.trace)


def invert_layers(model: nn.Module, images: Tensor, layers: Sequence[str], **kwargs: Any) -> List[FeatureInversion]:
    """:func:`invert_features` for each layer, shallow to deep as given (same start and seed for all)."""
    if not layers:
        raise ValueError("give at least one layer")
    return [invert_features(model, images, layer, **kwargs) for layer in layers]


__getattr__ = renamed_attributes(__name__, {
    "InversionResult": ("robustgan.visualize.FeatureInversion", FeatureInversion),
})
