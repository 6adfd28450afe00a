"""A style-based generator's intermediate latent as the optimisation variable: the W and W+ spaces.

Image2StyleGAN (Abdal et al. 2019) inverts a StyleGAN in W (one w broadcast to every layer) or in
W+ (one w per layer: num_ws·w_dim numbers), starting from the mean w̄; W+ reaches far more images
than Z or W. Here either space is a :class:`~robustgan.optim.latent.Latents` over views of the
generators' synthesis networks, so K generators × images × restarts stay rows of one batch and the
optimiser is unchanged. The variable is flat, (rows, D); a W+ row is the (num_ws, w_dim) matrix
read row-major. Any module with ``mapping``, ``synthesis``, ``num_ws``, ``w_dim`` and a ``w_avg``
buffer qualifies (duck typing: this layer knows no GAN class).
"""
from __future__ import annotations

from typing import Sequence, Tuple

import torch
from torch import Tensor, nn

from .latent import Latents

SPACES = ("w", "w+")
NEEDS = ("mapping", "synthesis", "num_ws", "w_dim", "w_avg")


class StyleSpace(nn.Module):
    """G's synthesis as a generator whose latent is a flat w (``"w"``) or w+ (``"w+"``)."""

    num_classes = 0

    def __init__(self, generator: nn.Module, space: str, name: str = "generator"):
        super().__init__()
        if space not in SPACES:
            raise ValueError(f"space must be one of {SPACES}, got {space!r}")
        missing = [a for a in NEEDS if not hasattr(generator, a)]
        if missing:
            raise ValueError(f"{name} is not a style-based generator (it lacks {', '.join(missing)}): "
                             "invert it in space='z'")
        self.generator, self.space = generator, space
        self.layers = 1 if space == "w" else int(generator.num_ws)
        self.latent_dim = self.layers * int(generator.w_dim)
        self.z_dim = int(generator.latent_dim)

    @property
    def shape(self) -> Tuple[int, ...]:
        """One row's variable as the generator reads it: (w_dim,) or (num_ws, w_dim)."""
        w_dim = int(self.generator.w_dim)
        return (w_dim,) if self.space == "w" else (self.layers, w_dim)

    def forward(self, v: Tensor) -> Tensor:
        g = self.generator
        ws = v.reshape(v.shape[0], self.layers, -1).expand(-1, int(g.num_ws), -1)
        return g.synthesis(ws)

    @torch.no_grad()
    def from_z(self, z: Tensor) -> Tensor:
        """The flat variable of w = mapping(z) (W+: the same w in every layer)."""
        return self.generator.mapping(z).repeat(1, self.layers)

    def mean(self) -> Tensor:
        """The flat variable of the tracked mean w̄."""
        return self.generator.w_avg.detach().repeat(self.layers)


class StyleLatents(Latents):
    """x = G_{k(s)}.synthesis(w): K style-based generators, sample ``s`` under ``assignment[s]``, in W or W+.

    As :class:`Latents`, the variable has the largest flat size and a generator reads its first
    entries. :meth:`initial` gives the starts: restart 0 at w̄, later restarts at mapped draws of z.
    """

    def __init__(self, generators: Sequence[nn.Module], assignment: Tensor, space: str):
        if isinstance(generators, nn.Module) or len(generators) == 0:
            raise TypeError("generators must be a non-empty sequence of generator modules")
        self.spaces = [StyleSpace(g, space, f"generators[{i}]") for i, g in enumerate(generators)]
        super().__init__(self.spaces, assignment)
        self.space = space
        shapes = {s.shape for s in self.spaces}
        self.variable_shape = shapes.pop() if len(shapes) == 1 else (self.latent_dim,)

    @torch.no_grad()
    def initial(self, z: Tensor) -> Tensor:
        """Starting variables of all rows (row r·n + s is restart r of sample s) from latents ``z``
        (rows, max z size): restart 0 at each generator's w̄ (Image2StyleGAN), the others at mapping(z)."""
        n = self.assignment.shape[0]
        row = torch.arange(z.shape[0], device=z.device)
        which = self.assignment.to(z.device)[row % n]
        out = z.new_zeros(z.shape[0], self.latent_dim)
        for k, space in enumerate(self.spaces):
            rows = (which == k).nonzero().squeeze(1)
            if rows.numel() == 0:
                continue
            v = space.from_z(z[rows, : space.z_dim]).to(z.dtype)
            v[rows < n] = space.mean().to(v)
            out[rows, : space.latent_dim] = v
        return out
