"""How close translations are to their targets: per-image PSNR and SSIM (kornia.metrics), and L1.

Per image, then averaged, as super-resolution papers report them; images in [0, 1]."""
from __future__ import annotations

from typing import Dict, Union

import torch
from torch import Tensor, nn

from ...validation import check_images

SSIM_WINDOW = 7  # a Gaussian window that fits a 28-pixel image several times (skimage's default size)


def _check_pair(output: Tensor, target: Tensor) -> None:
    check_images(output, "output")
    check_images(target, "target")
    if output.shape != target.shape:
        raise ValueError(f"output and target must have the same shape, got {tuple(output.shape)} and "
                         f"{tuple(target.shape)}")


def psnr(output: Tensor, target: Tensor) -> Tensor:
    """PSNR in dB of each image (N,), peak 1; identical images give +inf."""
    import kornia

    _check_pair(output, target)
    return torch.stack([kornia.metrics.psnr(o[None], t[None], 1.0) for o, t in zip(output, target)])


def ssim(output: Tensor, target: Tensor, window_size: int = SSIM_WINDOW) -> Tensor:
    """Mean structural similarity of each image (N,), in [−1, 1] (1: identical)."""
    import kornia

    _check_pair(output, target)
    return kornia.metrics.ssim(output, target, window_size, max_val=1.0).mean(dim=(1, 2, 3))


@torch.no_grad()
def translation_quality(generator: nn.Module, sources: Tensor, targets: Tensor,
                        domain: Union[int, Tensor, None] = None, batch_size: int = 256) -> Dict[str, float]:
    """Mean PSNR (dB), SSIM and L1 of ``generator``'s translations of ``sources`` against ``targets``."""
    from .build import translate

    out = translate(generator, sources, domain, batch_size).to(targets.device)
    return {"psnr": float(psnr(out, targets).clamp(max=100.0).mean()), "ssim": float(ssim(out, targets).mean()),
            "l1": float((out - targets).abs().mean()), "n": int(targets.shape[0])}


__all__ = ["SSIM_WINDOW", "psnr", "ssim", "translation_quality"]
