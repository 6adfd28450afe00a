"""What defines a GAN run: the loss, the models and the optimisation, resolved against the loss's defaults."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Dict, Optional, Tuple

from .models import NORMS
from .registry import LossSpec, get_loss

ARCHS = ("dcgan", "progressive", "lapgan", "style")
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
    ``code_dim`` (autoencoder bottleneck). ``minibatch_discrimination``: kernels of Salimans et al.'s
    minibatch discrimination before D's score (0 = off; any arch and loss). ``arch``: 'dcgan',
    'progressive' (Karras et al. 2018; ``progressive_steps`` iterations per fade-in and per
    stabilisation phase) or 'lapgan' (Denton et al. 2015); the last two are unconditional.
    ``arch="style"`` (unconditional too; a style-based generator against DCGAN's discriminator):
    ``mapping_layers`` (FC layers z → w, default 4) and ``style_mixing`` (probability of mixing
    regularisation, default 0.9); None elsewhere, so other archs' run identities are as before.
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
    mapping_layers: Optional[int] = None
    style_mixing: Optional[float] = None
    minibatch_discrimination: int = 0
    progressive_steps: int = 1000

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
        if cfg.arch == "style":
            cfg = replace(cfg, mapping_layers=4 if cfg.mapping_layers is None else cfg.mapping_layers,
                          style_mixing=0.9 if cfg.style_mixing is None else cfg.style_mixing)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        spec = self.spec
        if self.arch not in ARCHS:
            raise ValueError(f"unknown GAN architecture {self.arch!r}; choose one of {ARCHS}")
        self._check_arch()
        for name in ("latent_dim", "width", "batch_size", "code_dim", "progressive_steps"):
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
        self._validate_style()

    def _check_arch(self) -> None:
        """The growing and pyramid archs score unconditionally; minibatch discrimination needs K ≥ 0."""
        spec = self.spec
        k = self.minibatch_discrimination
        if not isinstance(k, int) or isinstance(k, bool) or k < 0:
            raise ValueError(f"minibatch_discrimination must be an integer ≥ 0 (kernels; 0 = off), got {k!r}")
        growing = self.arch in ("progressive", "lapgan")
        if growing and (self.conditional or spec.conditioning != "none" or spec.discriminator != "dcgan"):
            raise ValueError(f"arch {self.arch!r} is unconditional with a score discriminator: it takes the "
                             f"unconditional losses of the table, not {spec.name!r}")

    def _validate_style(self) -> None:
        """The style arch's own settings: refused for the other archs, checked for it."""
        if self.arch != "style":
            if self.mapping_layers is not None or self.style_mixing is not None:
                raise ValueError("mapping_layers and style_mixing are settings of arch='style'")
            return
        if self.conditional or self.spec.conditioning != "none":
            raise ValueError(f"arch='style' is unconditional: it takes no class or code inputs ({self.spec.name})")
        if self.mapping_layers is not None and not (isinstance(self.mapping_layers, int) and 1 <= self.mapping_layers <= 8):
            raise ValueError(f"mapping_layers must be an integer in [1, 8], got {self.mapping_layers!r}")
        if self.style_mixing is not None and not 0.0 <= self.style_mixing <= 1.0:
            raise ValueError(f"style_mixing must be a probability in [0, 1], got {self.style_mixing}")

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
