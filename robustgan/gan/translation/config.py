"""The settings of one translation run, checked before anything is built.

``None`` fields take the architecture's default when the config is :meth:`resolved`: the GAN game
(LSGAN for CycleGAN as in its paper, BCE otherwise) and the normalisation (batch norm for pix2pix
and SRGAN, instance norm for CycleGAN and StarGAN).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Dict, Optional

from .blocks import NORMS
from .losses import GAN_LOSSES

ARCHS = ("pix2pix", "cyclegan", "srgan", "stargan")
TASK_KIND = {"pix2pix": "paired", "srgan": "paired", "cyclegan": "unpaired", "stargan": "domains"}
BASELINES = ("pix2pix", "srgan")  # the architectures with a non-adversarial baseline (adversarial=False)
CONTENT = ("perceptual", "mse")
_DEFAULT_LOSS = {"cyclegan": "lsgan"}
_DEFAULT_NORM = {"cyclegan": "instance", "stargan": "instance"}


@dataclass(frozen=True)
class TranslationConfig:
    """One run: the architecture, the network sizes, the optimiser, the loss weights, the seed."""

    arch: str = "pix2pix"
    adversarial: bool = True        # False: the baseline, the same generator without a discriminator
    width: int = 32
    res_blocks: int = 4             # SRGAN residual blocks
    norm: Optional[str] = None
    dropout: float = 0.0            # pix2pix's decoder dropout (0.5 in the paper)
    gan_loss: Optional[str] = None  # "bce" or "lsgan"
    batch_size: int = 16
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    lambda_l1: float = 100.0        # pix2pix
    lambda_cycle: float = 10.0      # CycleGAN
    lambda_identity: float = 0.5    # CycleGAN, as a fraction of lambda_cycle (0 turns it off)
    pool_size: int = 50             # CycleGAN image history
    content: str = "perceptual"     # SRGAN content loss: classifier features ("perceptual") or pixels ("mse")
    feature_layer: str = "model.features.4"  # the classifier layer of the perceptual loss
    adversarial_weight: float = 1e-3  # SRGAN
    lambda_cls: float = 1.0         # StarGAN
    lambda_rec: float = 10.0        # StarGAN
    ema: float = 0.0                # decay of an EMA copy of the generator(s); 0 keeps none
    seed: int = 0

    def resolved(self) -> "TranslationConfig":
        """This config with the architecture's defaults filled in, checked."""
        cfg = replace(self, gan_loss=self.gan_loss or _DEFAULT_LOSS.get(self.arch, "bce"),
                      norm=self.norm or _DEFAULT_NORM.get(self.arch, "batch"))
        cfg.check()
        return cfg

    def check(self) -> None:
        """A clear ValueError naming the setting, before a network or a batch is made."""
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {ARCHS}, got {self.arch!r}")
        if not self.adversarial and self.arch not in BASELINES:
            raise ValueError(f"adversarial=False (the baseline) exists for {BASELINES} only, not {self.arch!r}")
        for name in ("width", "res_blocks", "batch_size"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        _choice("norm", self.norm, NORMS)
        _choice("gan_loss", self.gan_loss, GAN_LOSSES)
        _choice("content", self.content, CONTENT)
        if not 0.0 <= self.dropout < 1.0 or not 0.0 <= self.ema < 1.0:
            raise ValueError(f"dropout and ema must lie in [0, 1), got {self.dropout!r} and {self.ema!r}")
        if self.lr <= 0 or not (0.0 <= self.beta1 < 1.0 and 0.0 <= self.beta2 < 1.0):
            raise ValueError(f"lr must be > 0 and betas in [0, 1), got {self.lr}, ({self.beta1}, {self.beta2})")
        weights = ("lambda_l1", "lambda_cycle", "lambda_identity", "adversarial_weight", "lambda_cls", "lambda_rec")
        for name in weights:
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be ≥ 0, got {getattr(self, name)!r}")
        if not isinstance(self.pool_size, int) or self.pool_size < 0:
            raise ValueError(f"pool_size must be an integer ≥ 0, got {self.pool_size!r}")

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Dict[str, Any]) -> "TranslationConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown translation settings: {', '.join(unknown)}")
        return cls(**values)


def _choice(name: str, value: Optional[str], allowed: tuple) -> None:
    if value is not None and value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")


__all__ = ["ARCHS", "BASELINES", "CONTENT", "TASK_KIND", "TranslationConfig"]
