"""Generators the analyst brings as TorchScript files, made usable by inversion and attribution.

A TorchScript archive holds the network but not what it takes as input, so the caller says which
kind it is: a latent generator (its ``latent_dim``) or an image-conditioned one (its
``source_shape``). Loading runs no Python pickle, only TorchScript code (which cannot import or call
arbitrary Python), so a file from elsewhere is no more than a network to evaluate.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Optional, Sequence, Union

import torch
from torch import Tensor, nn

from ...optim.freeze import frozen
from .conditioned import check_shape
from .invert import device_of


class _Scripted(nn.Module):
    """A loaded TorchScript network under the attributes the inversion reads."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: Tensor, y: Optional[Tensor] = None) -> Tensor:
        if y is not None:
            raise ValueError("a scripted generator takes no class labels")
        return self.net(x)


class ScriptedLatentGenerator(_Scripted):
    """x = G(z), z ~ N(0, I) of size ``latent_dim``."""

    def __init__(self, net: nn.Module, latent_dim: int):
        super().__init__(net)
        self.latent_dim = latent_dim

    def sample_latent(self, n: int, generator: Optional[torch.Generator] = None,
                      device: Optional[torch.device] = None) -> Tensor:
        """z ~ N(0, I): the prior assumed for a scripted generator (its file does not say)."""
        return torch.randn(n, self.latent_dim, generator=generator, device=device or device_of(self))


class ScriptedSourceGenerator(_Scripted):
    """y = G(x) for sources x of shape ``source_shape`` in [0, 1]."""

    def __init__(self, net: nn.Module, source_shape: Sequence[int]):
        super().__init__(net)
        self.source_shape = tuple(source_shape)


def load_scripted_generator(path: Union[str, Path], *, latent_dim: Optional[int] = None,
                            source_shape: Optional[Sequence[int]] = None,
                            device: Union[str, torch.device] = "cpu") -> nn.Module:
    """A TorchScript generator from ``path``: give ``latent_dim`` for a latent generator or
    ``source_shape`` (C, H, W) for an image-conditioned one, exactly one of them.

    The network is tried once on a probe input of that size, so a wrong size fails here, naming the
    file, rather than in the middle of an inversion.
    """
    if (latent_dim is None) == (source_shape is None):
        raise ValueError("give exactly one of latent_dim (a latent generator) or source_shape "
                         "(an image-conditioned generator): a TorchScript file does not say which it is")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"generator file not found: {path}")
    try:
        with warnings.catch_warnings():  # torch's advice to move to torch.export is for whoever wrote the file
            warnings.filterwarnings("ignore", message="`torch.jit.load` is deprecated", category=FutureWarning)
            net = torch.jit.load(str(path), map_location=device)
    except RuntimeError as e:
        raise ValueError(f"{path} is not a TorchScript archive (torch.jit.save): {e}") from e
    if latent_dim is not None:
        if isinstance(latent_dim, bool) or not isinstance(latent_dim, int) or latent_dim <= 0:
            raise ValueError(f"latent_dim must be a positive integer, got {latent_dim!r}")
        gen: nn.Module = ScriptedLatentGenerator(net, latent_dim)
        probe_shape = (2, latent_dim)
    else:
        gen = ScriptedSourceGenerator(net, check_shape(source_shape, "source_shape"))
        probe_shape = (2, *gen.source_shape)
    _probe(gen, probe_shape, path, device)
    return gen


def _probe(gen: nn.Module, shape, path: Path, device) -> None:
    """One forward pass on zeros (two rows: a BatchNorm in train mode needs them), state untouched."""
    dtype = next(iter(gen.parameters()), torch.zeros(())).dtype
    try:
        with torch.no_grad(), frozen([gen]):
            out = gen(torch.zeros(shape, device=device, dtype=dtype))
    except Exception as e:  # whatever the scripted code raises for an input it cannot take
        last = (str(e).strip().splitlines() or [type(e).__name__])[-1]  # not TorchScript's whole traceback
        raise ValueError(f"{path}: the generator does not take inputs of shape {tuple(shape)}: {last}") from e
    if not isinstance(out, Tensor) or out.dim() != 4 or out.shape[0] != shape[0]:
        raise ValueError(f"{path}: the generator must return images (N, C, H, W), got "
                         f"{tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__}")
