"""StarGAN (Choi et al. 2018): one generator for every pair of K domains, told the target domain;
one discriminator with a real/fake patch head and a domain-classification head."""
from __future__ import annotations

from typing import Dict, List

import torch
from torch import Tensor, nn

from . import losses as L
from .networks import StarDiscriminator, StarGenerator
from .recipe import Recipe


class StarGAN(Recipe):
    """Each step translates a batch into random target domains (from the run's noise) and back."""

    def build(self) -> None:
        cfg, task = self.cfg, self.task
        channels, size, _ = task.source_shape
        k = task.num_domains
        self.generators["G"] = StarGenerator(channels, k, size, cfg.width, cfg.norm)
        self.discriminators["D"] = StarDiscriminator(channels, k, size, cfg.width)
        self.streams["images"] = self.stream(len(task), 0)

    def batch(self, noise: torch.Generator) -> Dict[str, Tensor]:
        idx = self.draw("images")
        target = torch.randint(0, self.task.num_domains, (idx.shape[0],), generator=noise, device=self.device)
        return {"image": self.sources[idx], "domain": self.domains[idx], "target": target}

    def generate(self, batch: Dict[str, Tensor]) -> Dict[str, Tensor]:
        g = self.generators["G"]
        fake = g(batch["image"], batch["target"])
        return {"fake": fake, "rec": g(fake, batch["domain"])}

    def d_loss(self, batch: Dict[str, Tensor], out: Dict[str, Tensor]) -> Dict[str, Tensor]:
        d = self.discriminators["D"]
        real, fake = d(batch["image"]), d(out["fake"].detach())
        loss = L.stargan_discriminator_loss(real.score, fake.score, real.domain_logits, batch["domain"],
                                            self.cfg.lambda_cls, self.cfg.gan_loss)
        return {"d_loss": loss}

    def g_loss(self, batch: Dict[str, Tensor], out: Dict[str, Tensor]) -> Dict[str, Tensor]:
        cfg, fake = self.cfg, self.discriminators["D"](out["fake"])
        loss = L.stargan_generator_loss(fake.score, fake.domain_logits, batch["target"], out["rec"], batch["image"],
                                        cfg.lambda_cls, cfg.lambda_rec, cfg.gan_loss)
        return {"g_loss": loss, "rec": L.reconstruction_loss(out["rec"], batch["image"]).detach()}

    def preview(self, generators: Dict[str, nn.Module], fixed: Dict[str, Tensor]) -> List[Tensor]:
        x = fixed["source"]
        return [x] + [generators["G"](x, k) for k in range(self.task.num_domains)]


__all__ = ["StarGAN"]
