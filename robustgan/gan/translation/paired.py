"""The paired architectures: pix2pix (edges → garment) and SRGAN (low → high resolution).

Both draw (source, target) pairs from one stream and train one generator; with
``adversarial=False`` they are their own baselines — the same generator, no discriminator, the
reconstruction term alone (λ·L1 for pix2pix; the content loss for SRGAN) — which is what shows
the adversarial term's worth.
"""
from __future__ import annotations

from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import losses as L
from .networks import PatchDiscriminator, SRDiscriminator, SRGenerator, UNetGenerator
from .operators import upsample_nearest
from .recipe import Recipe, check_paired


class PairedRecipe(Recipe):
    """Shared flow: a batch of pairs, G(source), D judging real targets against detached fakes."""

    def batch(self, noise: torch.Generator) -> Dict[str, Tensor]:
        idx = self.draw("pairs")
        return {"source": self.sources[idx], "target": self.targets[idx]}

    def generate(self, batch: Dict[str, Tensor]) -> Dict[str, Tensor]:
        return {"fake": self.generators["G"](batch["source"])}

    def judge(self, image: Tensor, source: Tensor) -> Tensor:
        raise NotImplementedError

    def d_loss(self, batch: Dict[str, Tensor], out: Dict[str, Tensor]) -> Dict[str, Tensor]:
        real = self.judge(batch["target"], batch["source"])
        fake = self.judge(out["fake"].detach(), batch["source"])
        return {"d_loss": L.discriminator_loss(real, fake, self.cfg.gan_loss)}

    def fake_logits(self, batch: Dict[str, Tensor], out: Dict[str, Tensor]) -> Optional[Tensor]:
        """D's verdict on G's outputs for the generator update; None for the baseline."""
        return self.judge(out["fake"], batch["source"]) if self.cfg.adversarial else None

    def preview(self, generators: Dict[str, nn.Module], fixed: Dict[str, Tensor]) -> List[Tensor]:
        target = fixed["target"]
        return [upsample_nearest(fixed["source"], target.shape[-1]), generators["G"](fixed["source"]), target]


class Pix2Pix(PairedRecipe):
    """U-Net generator, conditional PatchGAN discriminator, L_cGAN + λ·L1."""

    def build(self) -> None:
        cfg, task = self.cfg, self.task
        check_paired(task, (1,), "pix2pix")
        (cs, _, _), (ct, size, _) = task.source_shape, task.target_shape
        self.generators["G"] = UNetGenerator(cs, ct, size, cfg.width, cfg.dropout, cfg.norm)
        if cfg.adversarial:
            self.discriminators["D"] = PatchDiscriminator(ct, cs, cfg.width, cfg.norm)
        self.streams["pairs"] = self.stream(len(task), 0)

    def judge(self, image: Tensor, source: Tensor) -> Tensor:
        return self.discriminators["D"](image, source)

    def g_loss(self, batch: Dict[str, Tensor], out: Dict[str, Tensor]) -> Dict[str, Tensor]:
        l1 = L.l1_loss(out["fake"], batch["target"])
        logits = self.fake_logits(batch, out)
        total = (self.cfg.lambda_l1 * l1 if logits is None else
                 L.pix2pix_generator_loss(logits, out["fake"], batch["target"], self.cfg.lambda_l1, self.cfg.gan_loss))
        return {"g_loss": total, "l1": l1.detach()}


class SRGAN(PairedRecipe):
    """SRResNet generator, unconditional SRGAN discriminator, content + 10⁻³ · adversarial."""

    def build(self) -> None:
        cfg, task = self.cfg, self.task
        scale = check_paired(task, (2, 4), "srgan")
        if cfg.content == "perceptual" and self.features is None:
            raise ValueError("srgan with the perceptual content loss needs a feature network (features=...)")
        channels, size, _ = task.target_shape
        self.generators["G"] = SRGenerator(channels, size, scale, cfg.width, cfg.res_blocks, cfg.norm)
        if cfg.adversarial:
            self.discriminators["D"] = SRDiscriminator(channels, cfg.width, cfg.norm)
        self.streams["pairs"] = self.stream(len(task), 0)

    def judge(self, image: Tensor, source: Tensor) -> Tensor:
        return self.discriminators["D"](image)

    def g_loss(self, batch: Dict[str, Tensor], out: Dict[str, Tensor]) -> Dict[str, Tensor]:
        fake, target = out["fake"], batch["target"]
        if self.cfg.content == "perceptual":
            content = L.perceptual_loss(self.features, self.cfg.feature_layer, fake, target)
        else:
            content = F.mse_loss(fake, target)
        total = L.srgan_generator_loss(content, self.fake_logits(batch, out), self.cfg.adversarial_weight)
        return {"g_loss": total, "content": content.detach()}


__all__ = ["PairedRecipe", "Pix2Pix", "SRGAN"]
