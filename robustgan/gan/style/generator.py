"""A style-based generator (Karras et al. 2019, with StyleGAN2's modulated convolutions) at 28 or 32 px.

z → mapping → w, broadcast to ``num_ws`` layers (ws: (N, num_ws, w_dim)); the synthesis network
starts from a learned constant and every layer is a convolution modulated by its own w, with
per-layer noise. Training tracks the mean w (``w_avg``, for truncation ψ: w ← w̄ + ψ(w − w̄)) and
mixes styles: with probability ``style_mixing`` the layers from a random crossover on take the w of
a second latent, so neighbouring layers cannot rely on sharing one style.

It keeps DCGAN's generator interface (``latent_dim``, ``sample_latent``, ``forward(z) → [0, 1]``),
so training, sampling, inversion and attribution take it as they take DCGAN.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import torch
from torch import Tensor, nn

from .layers import StyledConv, to_rgb
from .mapping import MappingNetwork
from .noise import check_noise_mode, layer_noise

# image size → resolutions of the synthesis blocks (the first holds the learned constant)
RESOLUTIONS = {28: [7, 14, 28], 32: [4, 8, 16, 32]}
W_AVG_BETA = 0.995  # StyleGAN's decay of the tracked mean w


class StyleGenerator(nn.Module):
    """z (N, latent_dim) → images (N, channels, size, size) in [0, 1]; see the module docstring.

    ``width``: channels of the last block (earlier blocks have up to 4·width, as DCGAN's layers).
    ``demodulate=False`` gives plain modulation (no per-filter normalisation).
    """

    num_classes = code_categorical = code_continuous = 0  # unconditional, no InfoGAN codes

    def __init__(self, latent_dim: int = 128, image_size: int = 28, channels: int = 1, width: int = 32,
                 w_dim: Optional[int] = None, mapping_layers: int = 4, style_mixing: float = 0.9,
                 demodulate: bool = True):
        super().__init__()
        if image_size not in RESOLUTIONS:
            raise ValueError(f"image_size must be one of {sorted(RESOLUTIONS)}, got {image_size}")
        if not 0.0 <= style_mixing <= 1.0:
            raise ValueError(f"style_mixing must be a probability in [0, 1], got {style_mixing}")
        self.latent_dim, self.w_dim = latent_dim, w_dim or latent_dim
        self.image_size, self.channels, self.width = image_size, channels, width
        self.mapping_layers, self.style_mixing, self.demodulate = mapping_layers, float(style_mixing), demodulate
        self.mapping = MappingNetwork(latent_dim, self.w_dim, mapping_layers)
        res = RESOLUTIONS[image_size]
        chans = [width * min(4, 2 ** (len(res) - 1 - j)) for j in range(len(res))]
        self.const = nn.Parameter(torch.randn(1, chans[0], res[0], res[0]))
        convs: List[StyledConv] = [StyledConv(chans[0], chans[0], self.w_dim, demodulate=demodulate)]
        sizes = [res[0]]
        for j in range(1, len(res)):
            convs += [StyledConv(chans[j - 1], chans[j], self.w_dim, upsample=True, demodulate=demodulate),
                      StyledConv(chans[j], chans[j], self.w_dim, demodulate=demodulate)]
            sizes += [res[j], res[j]]
        self.convs = nn.ModuleList(convs)
        self.rgb = to_rgb(chans[-1], channels, self.w_dim)
        self.num_ws = len(convs) + 1  # one w per conv, one for the output layer
        for i, s in enumerate(sizes):
            self.register_buffer(f"noise_const_{i}", torch.randn(1, 1, s, s))
        self.register_buffer("w_avg", torch.zeros(self.w_dim))
        self.noise_mode = "auto"
        self.noise_source: Optional[torch.Generator] = None  # random noise and mixing draws (None: global RNG)
        self.truncation_psi = 1.0

    def config(self) -> Dict[str, Any]:
        """The constructor arguments: with the state dict, all a checkpoint needs to rebuild it."""
        return {"latent_dim": self.latent_dim, "image_size": self.image_size, "channels": self.channels,
                "width": self.width, "w_dim": self.w_dim, "mapping_layers": self.mapping_layers,
                "style_mixing": self.style_mixing, "demodulate": self.demodulate}

    def sample_latent(self, n: int, generator: Optional[torch.Generator] = None,
                      device: Optional[torch.device] = None) -> Tensor:
        """z ~ N(0, I)."""
        device = device if device is not None else self.const.device
        return torch.randn(n, self.latent_dim, generator=generator, device=device)

    def broadcast(self, w: Tensor) -> Tensor:
        """(N, w_dim) → (N, num_ws, w_dim): one w for every layer (the W space)."""
        return w[:, None, :].expand(-1, self.num_ws, -1)

    def truncate(self, ws: Tensor, psi: float) -> Tensor:
        """w̄ + ψ·(w − w̄), toward the tracked mean: ψ = 1 leaves w, ψ = 0 gives w̄."""
        return self.w_avg.to(ws.dtype).lerp(ws, psi) if psi != 1 else ws

    @staticmethod
    def mix(ws: Tensor, ws2: Tensor, cutoff: int) -> Tensor:
        """Layers [0, cutoff) from ``ws``, layers [cutoff, num_ws) from ``ws2``."""
        layer = torch.arange(ws.shape[1], device=ws.device)[None, :, None]
        return torch.where(layer < cutoff, ws, ws2)

    def forward(self, z: Tensor, y: Optional[Tensor] = None, psi: Optional[float] = None) -> Tensor:
        if y is not None:
            raise ValueError("this style-based generator is unconditional: it takes no labels")
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        w = self.mapping(z)
        if self.training:
            with torch.no_grad():
                self.w_avg.copy_(w.detach().mean(0).lerp(self.w_avg, W_AVG_BETA))
        ws = self.broadcast(w)
        if self.training and self.style_mixing > 0:
            ws = self._mixed(ws, z.shape[0])
        return self.synthesis(self.truncate(ws, self.truncation_psi if psi is None else psi))

    def _mixed(self, ws: Tensor, n: int) -> Tensor:
        """Style mixing regularisation: the same draws every call (a coin, a crossover, a second z),
        so the random stream does not depend on the coin's outcome."""
        src = self.noise_source
        coin = torch.rand((), generator=src, device=ws.device)
        cutoff = int(torch.randint(1, self.num_ws, (), generator=src, device=ws.device))
        ws2 = self.broadcast(self.mapping(self.sample_latent(n, src, ws.device)))
        return self.mix(ws, ws2, cutoff) if float(coin) < self.style_mixing else ws

    def synthesis(self, ws: Tensor) -> Tensor:
        """ws (N, num_ws, w_dim) → images in [0, 1]: layer i is driven by ws[:, i]."""
        if ws.dim() != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
            raise ValueError(f"ws must have shape (N, {self.num_ws}, {self.w_dim}), got {tuple(ws.shape)}")
        mode, n = check_noise_mode(self.noise_mode), ws.shape[0]
        x = self.const.expand(n, -1, -1, -1)
        for i, conv in enumerate(self.convs):
            noise = layer_noise(mode, self.training, getattr(self, f"noise_const_{i}"), n, self.noise_source)
            x = conv(x, ws[:, i], noise)
        return torch.tanh(self.rgb(x, ws[:, -1])).add(1).mul(0.5)
