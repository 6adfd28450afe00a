"""What defines a GAN run: the loss, the models and the optimisation, resolved against the loss's defaults."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Dict, Optional, Tuple

from .models import NORMS
from .registry import LossSpec, get_loss

ARCHS = ("dcgan",)
OPTIMIZERS = ("adam", "rmsprop")


@dataclass(frozen=True)
class GANConfig:
    """Settings of one run; ``None`` means "the loss's default" (see ``registry.LOSSES``).

    Model: ``arch``, ``latent_dim``, ``width`` (DCGAN's ngf = ndf), ``conditional`` (labels into
    G and D for any loss), ``d_norm``, ``spectral_norm``. Optimisation: ``optimizer``, ``lr_g``,
    ``lr_d``, ``betas``, ``d_steps`` (k discriminator steps per generator step), ``batch_size``.
    Tricks: ``ema`` (decay of the generator's weight average, 0 = off), ``label_smoothing``
    (one-sided: real target 1 − s), ``instance_noise`` (σ₀) annealed to 0 over
    ``instance_noise_anneal`` steps (0 = constant). Per-loss: ``gp_weight`` (WGAN-GP, DRAGAN),
    ``clip`` (WGAN), ``ebgan_margin``, ``pt_weight``, ``began_gamma``, ``began_lambda_k``,
    ``info_categorical``, ``info_continuous``, ``info_weight`` (InfoGAN), ``aux_weight`` (AC-GAN),
    ``code_dim`` (autoencoder bottleneck).
    """

    loss: str = "non-saturating"
    arch: str = "dcgan"
    latent_dim: int = 100
    width: int = 64
    conditional: bool = False
    batch_size: int = 64
    optimizer: Optional[str] = None
    lr_g: Optional[float] = None
    lr_d: Optional[float] = None
    betas: Optional[Tuple[float, float]] = None
    d_steps: Optional[int] = None
    d_norm: Optional[str] = None
    spectral_norm: bool = False
    seed: int = 0
    ema: float = 0.0
    label_smoothing: float = 0.0
    instance_noise: float = 0.0
    instance_noise_anneal: int = 0
    gp_weight: float = 10.0
    clip: float = 0.01
    ebgan_margin: float = 1.0
    pt_weight: float = 0.1
    began_gamma: float = 0.5
    began_lambda_k: float = 0.001
    info_categorical: int = 10
    info_continuous: int = 2
    info_weight: float = 1.0
    aux_weight: float = 1.0
    code_dim: int = 64

    @property
    def spec(self) -> LossSpec:
        return get_loss(self.loss)

    def resolved(self) -> "GANConfig":
        """A copy with every ``None`` filled from the loss's defaults, checked for consistency."""
        spec = self.spec
        d = spec.defaults
        lr = d.get("lr", 2e-4)
        betas = self.betas if self.betas is not None else d.get("betas")
        cfg = replace(
            self, loss=spec.name,
            optimizer=self.optimizer or d.get("optimizer", "adam"),
            lr_g=self.lr_g if self.lr_g is not None else lr,
            lr_d=self.lr_d if self.lr_d is not None else lr,
            betas=tuple(float(b) for b in betas) if betas is not None else None,
            d_steps=self.d_steps if self.d_steps is not None else d.get("d_steps", 1),
            d_norm=self.d_norm or d.get("d_norm", "batch"),
            conditional=self.conditional or spec.conditioning in ("concat", "aux"),
        )
        cfg.validate()
        return cfg

    def validate(self) -> None:
        spec = self.spec
        if self.arch not in ARCHS:
            raise ValueError(f"unknown GAN architecture {self.arch!r}; choose one of {ARCHS}")
        for name in ("latent_dim", "width", "batch_size", "code_dim"):
            v = getattr(self, name)
            if not isinstance(v, int) or v <= 0:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if self.d_steps is not None and (not isinstance(self.d_steps, int) or self.d_steps < 1):
            raise ValueError(f"d_steps must be an integer ≥ 1, got {self.d_steps!r}")
        if self.optimizer is not None and self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.optimizer == "adam" and self.betas is None:
            raise ValueError("adam needs betas")
        if self.d_norm is not None and self.d_norm not in NORMS:
            raise ValueError(f"d_norm must be one of {NORMS}, got {self.d_norm!r}")
        for name in ("lr_g", "lr_d"):
            v = getattr(self, name)
            if v is not None and not v > 0:
                raise ValueError(f"{name} must be positive, got {v}")
        if not 0.0 <= self.ema < 1.0:
            raise ValueError(f"ema decay must be in [0, 1), got {self.ema}")
        if not 0.0 <= self.label_smoothing < 0.5:
            raise ValueError(f"label_smoothing must be in [0, 0.5), got {self.label_smoothing}")
        if self.label_smoothing and spec.family not in ("bce", "ls"):
            raise ValueError(f"one-sided label smoothing applies to targets of the BCE and least-squares losses, not {spec.name!r}")
        if self.instance_noise < 0 or self.instance_noise_anneal < 0:
            raise ValueError("instance_noise and instance_noise_anneal must be ≥ 0")
        if self.clip <= 0 or self.gp_weight < 0:
            raise ValueError("clip must be positive and gp_weight ≥ 0")
        if spec.discriminator == "autoencoder" and self.conditional:
            raise ValueError(f"{spec.name} uses an autoencoder discriminator, which has no conditional variant here")
        if spec.conditioning == "info" and self.info_categorical + self.info_continuous == 0:
            raise ValueError("infogan needs at least one latent code (info_categorical or info_continuous)")
        if spec.conditioning == "info" and self.conditional:
            raise ValueError("infogan learns its own codes; it is not combined with label conditioning here")

    def to_dict(self) -> Dict[str, Any]:
        """Plain values only, so a checkpoint stays loadable with ``weights_only=True``."""
        out = asdict(self)
        out["betas"] = list(self.betas) if self.betas is not None else None
        return out

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "GANConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown GAN config keys: {sorted(unknown)}")
        data = dict(data)
        if data.get("betas") is not None:
            data["betas"] = tuple(data["betas"])
        return cls(**data)
