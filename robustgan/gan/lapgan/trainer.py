"""LAPGAN training (Denton et al. 2015): every pyramid level is its own GAN, trained side by side.

Each iteration draws a real batch, builds its Laplacian pyramid and, per level k, trains D_k to
tell the real input ([l_k | h_k], or the coarse image at k = 0) from G_k's ([l_k | G_k(noise, l_k)],
conditioned on the *real* coarser image, as in the paper), with the loss of the table. The
levels' losses are summed: they share no weights, so one Adam step on the sum is one step per level.
Everything else — optimisers, EMA, checkpoints, bit-exact resume, the loop — is ``GANTrainer``'s.
"""
from __future__ import annotations

from typing import Dict, List

import torch
from torch import Tensor

from ..step_losses import critic_penalty
from ..trainer import DiscriminatorStep, GANTrainer
from ..tricks import add_instance_noise
from .pyramid import laplacian_pairs


class LAPGANTrainer(GANTrainer):
    """``GANTrainer`` with LAPGAN's per-level discriminator and generator steps."""

    def _level_inputs(self, pairs, z: Tensor) -> List[Tensor]:
        """G's input to each D_k: the coarse sample, then [l_k | G_k(noise, l_k)] on the real l_k."""
        parts = self.G.split(z)
        fakes = [self.G.coarse_image(parts[0])]
        for k, (low, _) in enumerate(pairs, 1):
            fakes.append(torch.cat([low, self.G.residual(k, low, parts[k])], 1))
        return fakes

    def d_step(self, sigma: float, last: bool, record: Dict[str, Tensor]) -> DiscriminatorStep:
        real, _ = self.batches.next()
        if self.ctx.active:
            real = real[self.local]
        coarse, pairs = laplacian_pairs(real.mul(2).sub(1), len(self.G.levels))
        reals = [coarse] + [torch.cat(pair, 1) for pair in pairs]
        z = self.G.sample_latent(real.shape[0], self.noise, self.device)
        with torch.set_grad_enabled(last):
            fakes = self._level_inputs(pairs, z)
        loss_d, penalties = real.new_zeros(()), []
        for k, (r, f) in enumerate(zip(reals, fakes)):
            r_in, f_in = add_instance_noise(r, sigma, self.noise), add_instance_noise(f.detach(), sigma, self.noise)
            loss_d = loss_d + self.spec.d_loss(self.D.level(k, r_in).score, self.D.level(k, f_in).score, self.hyper)
            penalty = critic_penalty(self.spec, self.cfg, self.D.levels[k], r_in, f_in, self.noise)
            if penalty is not None:
                penalties.append(penalty)
        if penalties:
            record["penalty"] = torch.stack(penalties).sum().detach()
            loss_d = loss_d + torch.stack(penalties).sum()
        self.update_d(loss_d)
        return DiscriminatorStep(z, fakes, None, loss_d)

    def g_step(self, sigma: float, last: DiscriminatorStep) -> Tensor:
        loss_g = sum(self.spec.g_loss(self.D.level(k, add_instance_noise(f, sigma, self.noise)).score)
                     for k, f in enumerate(last.fake))
        self.update_g(loss_g)
        return loss_g
