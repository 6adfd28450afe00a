"""CycleGAN (Zhu et al. 2017): two generators A → B and B → A, two unconditional PatchGANs, trained
on unpaired domains with cycle consistency, an identity term and image history pools."""
from __future__ import annotations

from typing import Dict, List

import torch
from torch import Tensor, nn

from ..ranks import noise_seed
from . import losses as L
from .networks import PatchDiscriminator, UNetGenerator
from .pool import ImagePool
from .recipe import GRID_COLUMNS, Recipe, check_paired


class CycleGAN(Recipe):
    """``sources`` are domain A, ``targets`` domain B; each is drawn from its own stream."""

    def build(self) -> None:
        cfg, task = self.cfg, self.task
        check_paired(task, (1,), "cyclegan")
        (ca, size, _), (cb, _, _) = task.source_shape, task.target_shape
        self.generators["G_ab"] = UNetGenerator(ca, cb, size, cfg.width, cfg.dropout, cfg.norm)
        self.generators["G_ba"] = UNetGenerator(cb, ca, size, cfg.width, cfg.dropout, cfg.norm)
        self.discriminators["D_a"] = PatchDiscriminator(ca, 0, cfg.width, cfg.norm)
        self.discriminators["D_b"] = PatchDiscriminator(cb, 0, cfg.width, cfg.norm)
        # one pair of pools per rank (of its own share's fakes), each with draws of its own
        self.pools = {"a": ImagePool(cfg.pool_size, seed=noise_seed(cfg.seed * 2 + 1, self.rank)),
                      "b": ImagePool(cfg.pool_size, seed=noise_seed(cfg.seed * 2 + 2, self.rank))}
        self.streams = {"a": self.stream(self.sources.shape[0], 0), "b": self.stream(self.targets.shape[0], 1)}

    def batch(self, noise: torch.Generator) -> Dict[str, Tensor]:
        return {"a": self.sources[self.draw("a")], "b": self.targets[self.draw("b")]}

    def generate(self, batch: Dict[str, Tensor]) -> Dict[str, Tensor]:
        g_ab, g_ba = self.generators["G_ab"], self.generators["G_ba"]
        out = {"fake_b": g_ab(batch["a"]), "fake_a": g_ba(batch["b"])}
        out["rec_a"], out["rec_b"] = g_ba(out["fake_b"]), g_ab(out["fake_a"])
        if self.cfg.lambda_identity > 0:
            out["same_b"], out["same_a"] = g_ab(batch["b"]), g_ba(batch["a"])
        return out

    def d_loss(self, batch: Dict[str, Tensor], out: Dict[str, Tensor]) -> Dict[str, Tensor]:
        d_a, d_b, kind = self.discriminators["D_a"], self.discriminators["D_b"], self.cfg.gan_loss
        loss_a = L.discriminator_loss(d_a(batch["a"]), d_a(self.pools["a"].query(out["fake_a"])), kind)
        loss_b = L.discriminator_loss(d_b(batch["b"]), d_b(self.pools["b"].query(out["fake_b"])), kind)
        return {"d_loss": loss_a + loss_b, "d_a": loss_a.detach(), "d_b": loss_b.detach()}

    def g_loss(self, batch: Dict[str, Tensor], out: Dict[str, Tensor]) -> Dict[str, Tensor]:
        cfg = self.cfg
        adv = (L.generator_adversarial_loss(self.discriminators["D_b"](out["fake_b"]), cfg.gan_loss)
               + L.generator_adversarial_loss(self.discriminators["D_a"](out["fake_a"]), cfg.gan_loss))
        cycle = L.cycle_consistency_loss(out["rec_a"], batch["a"], out["rec_b"], batch["b"], cfg.lambda_cycle)
        total = adv + cycle
        parts = {"adversarial": adv.detach(), "cycle": cycle.detach()}
        if cfg.lambda_identity > 0:
            same = L.identity_loss(out["same_a"], batch["a"], out["same_b"], batch["b"],
                                   cfg.lambda_identity * cfg.lambda_cycle)
            total, parts["identity"] = total + same, same.detach()
        return {"g_loss": total, **parts}

    def fixed(self) -> Dict[str, Tensor]:
        return {"a": self.sources[:GRID_COLUMNS], "b": self.targets[:GRID_COLUMNS]}

    def preview(self, generators: Dict[str, nn.Module], fixed: Dict[str, Tensor]) -> List[Tensor]:
        g_ab, g_ba = generators["G_ab"], generators["G_ba"]
        fake_b, fake_a = g_ab(fixed["a"]), g_ba(fixed["b"])
        return [fixed["a"], fake_b, g_ba(fake_b), fixed["b"], fake_a, g_ab(fake_a)]


__all__ = ["CycleGAN"]
