"""The autoencoder discriminator of energy-based GANs (EBGAN, Zhao et al. 2017; BEGAN, Berthelot et al. 2017).

The discriminator's output is an energy: the per-sample reconstruction error of an autoencoder,
mean squared ('l2', EBGAN) or mean absolute ('l1', BEGAN). Real images should get low energy,
generated ones high; the bottleneck code is returned as well for EBGAN's pulling-away term.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from torch import Tensor, nn

from .layers import MinibatchDiscrimination
from .models import PLANS, Critique, _check_positive, _check_size, dcgan_init, downsampling_layers, norm_layer

ENERGIES = ("l1", "l2")


class AutoencoderDiscriminator(nn.Module):
    """DCGAN-style conv encoder → ``code_dim`` bottleneck → transposed-conv decoder; energy per sample."""

    def __init__(self, image_size: int = 28, channels: int = 1, width: int = 64, code_dim: int = 64,
                 energy: str = "l2", norm: str = "batch", minibatch_discrimination: int = 0):
        super().__init__()
        _check_size(image_size)
        _check_positive(channels=channels, width=width, code_dim=code_dim)
        if energy not in ENERGIES:
            raise ValueError(f"energy must be one of {ENERGIES}, got {energy!r}")
        self.image_size, self.channels, self.width = image_size, channels, width
        self.code_dim, self.energy, self.norm = code_dim, energy, norm
        self.num_classes = self.aux_classes = self.code_categorical = self.code_continuous = 0
        dplan, gplan = PLANS[image_size]["d"], PLANS[image_size]["g"]
        chans = [channels, width, 2 * width, 4 * width]
        enc = downsampling_layers(dplan, chans, norm)
        self.side = {28: 7, 32: 4}[image_size]  # spatial size after the encoder's convolutions
        self.encoder = nn.Sequential(*enc, nn.Flatten(), nn.Linear(4 * width * self.side ** 2, code_dim))
        k = self.minibatch_discrimination = minibatch_discrimination
        self.mbd = MinibatchDiscrimination(code_dim, k) if k else nn.Identity()  # the decoder sees batch statistics
        self.project = nn.Linear(code_dim + k, 4 * width * self.side ** 2)
        dec: List[nn.Module] = []
        gchans = [4 * width, 2 * width, width, channels]
        for i, (k, s, p) in enumerate(gplan[1:]):
            dec.append(nn.ConvTranspose2d(gchans[i], gchans[i + 1], k, s, p, bias=False))
            if i < 2:
                dec += [norm_layer(norm, gchans[i + 1]), nn.ReLU(True)]
        dec.append(nn.Tanh())
        self.decoder = nn.Sequential(*dec)
        dcgan_init(self)

    def config(self) -> Dict[str, Any]:
        return {"image_size": self.image_size, "channels": self.channels, "width": self.width,
                "code_dim": self.code_dim, "energy": self.energy, "norm": self.norm,
                "minibatch_discrimination": self.minibatch_discrimination}

    def _decode(self, code: Tensor) -> Tensor:
        """Bottleneck code (with its minibatch features, when on) → reconstruction in [−1, 1]."""
        return self.decoder(self.project(self.mbd(code)).view(-1, 4 * self.width, self.side, self.side))

    def reconstruct(self, x: Tensor) -> Tensor:
        """The autoencoder's reconstruction of images in [0, 1], also in [0, 1]."""
        return self._decode(self.encoder(x.mul(2).sub(1))).add(1).mul(0.5)

    def critique(self, x: Tensor, y: Optional[Tensor] = None) -> Critique:
        h = x.mul(2).sub(1)
        code = self.encoder(h)
        rec = self._decode(code)
        diff = rec - h
        energy = diff.abs() if self.energy == "l1" else diff.pow(2)
        return Critique(energy.flatten(1).mean(1), embedding=code)

    def forward(self, x: Tensor, y: Optional[Tensor] = None) -> Tensor:
        return self.critique(x, y).score
