"""GAN-CLS / GAN-INT training on captioned images: :class:`~robustgan.gan.trainer.GANTrainer` with text.

The loop, the schedule, logging, progress grids, Ctrl-C handling (``until.train_to``) and the
atomic, resumable checkpoint are GANTrainer's; this subclass changes only what a text-conditional
run does differently — the models (a frozen caption encoder, a text-conditional G, a matching-aware
D), the two updates, the grid and the checkpoint's text section. The data cursor draws image
indices, so each real image comes with its own caption's tokens; the latents of the interpolated
captions come from the run's one noise generator, which the checkpoint keeps, so a resumed run is
bit for bit the uninterrupted one on CPU.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import torch
from torch import Tensor

from ... import distributed
from ..config import GANConfig
from ..data import check_training_data
from ..grid import save_pixel_grid
from ..resume import read_checkpoint
from ..trainer import DiscriminatorStep, GANRun, GANTrainer, Schedule
from ..tricks import ema_copy
from ..optimizers import make_optimizer
from .captions import CLASS_NAMES, caption_images, compose
from .config import TextSettings
from .encoder import TextEncoder, pretrain_encoder
from .interpolation import sample_captions
from .losses import generator_loss, interpolate_embeddings, matching_aware_d_loss, mismatched, naive_d_loss
from .models import KIND, build_text_models
from .vocab import WORDS, encode

GRID_CAPTIONS = tuple(compose(c, (1, 1, 1)) for c in range(len(CLASS_NAMES)))  # "a t-shirt", …, "an ankle boot"


@dataclass
class TextStep(DiscriminatorStep):
    """A discriminator step's results plus the caption embeddings its samples were drawn for."""

    text: Optional[Tensor] = None


@dataclass
class TextGANRun(GANRun):
    """A finished GAN-CLS run: GANRun's fields plus the frozen caption encoder and the text settings."""

    encoder: Optional[TextEncoder] = None
    text: Optional[TextSettings] = None


class TextGANTrainer(GANTrainer):
    """GANTrainer over (image, caption tokens) pairs; ``tokens`` is (N, L), one caption per image."""

    def __init__(self, ctx: distributed.DistContext, images: Tensor, tokens: Tensor, cfg: GANConfig,
                 text: TextSettings, *, device: torch.device, schedule: Schedule,
                 out_dir: Optional[Union[str, Path]] = None, identity: Optional[Dict[str, Any]] = None):
        self.text = text.validate()
        self.tokens = tokens.to(device)
        identity = {**(identity or {}), **text.to_dict()}
        super().__init__(ctx, images, torch.arange(images.shape[0]), cfg, num_classes=0, device=device,
                         schedule=schedule, out_dir=out_dir, identity=identity)

    def _build_models(self, size: int, channels: int) -> None:
        """The pretrained (frozen) encoder, then G and D from the seed, EMA copy and optimisers."""
        cfg, t = self.cfg, self.text
        self.encoder = pretrain_encoder(t.embed_dim, t.text_dim, t.encoder_steps, cfg.seed).to(self.device)
        self.g_kwargs = {"kind": KIND, "latent_dim": cfg.latent_dim, "text_dim": t.text_dim, "proj_dim": t.proj_dim,
                         "image_size": size, "channels": channels, "width": cfg.width}
        self.d_kwargs = {"kind": KIND, "image_size": size, "channels": channels, "width": cfg.width,
                         "text_dim": t.text_dim, "proj_dim": t.proj_dim, "norm": cfg.d_norm}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            self.G, self.D = build_text_models(self.g_kwargs, self.d_kwargs)
        self.G.to(self.device).train()
        self.D.to(self.device).train()
        self.ema_G = ema_copy(self.G) if cfg.ema > 0 else None
        self.g_params = list(self.G.parameters())
        self.opt_g = make_optimizer(cfg, self.g_params, cfg.lr_g)
        self.opt_d = make_optimizer(cfg, self.D.parameters(), cfg.lr_d)
        self.concat = False

    def restore(self) -> None:
        """GANTrainer's restore (weights, optimisers, noise, cursor, counter), then the encoder's weights."""
        state = read_checkpoint(self.ctx, self.ckpt_path, self.device)
        if not isinstance(state.get("text"), dict):
            raise ValueError(f"cannot resume {self.ckpt_path}: it is not a text-to-image (gan-cls) checkpoint")
        super().restore()
        self.encoder.load_state_dict(state["text"]["encoder"])

    def _embed(self, index: Tensor) -> Tensor:
        with torch.no_grad():
            return self.encoder(self.tokens[index])

    def d_step(self, sigma: float, last: bool, record: Dict[str, Tensor]) -> TextStep:
        """One discriminator update: (real, its caption) real; (real, another's caption) and (G(z, caption),
        caption) fake, ½ each — or, naive, (G(z, caption), caption) fake with weight 1."""
        G, D = self.G, self.D
        real, index = self.batches.next()
        if self.ctx.active:
            real, index = real[self.local], index[self.local]
        h = self._embed(index)
        z = G.sample_latent(real.shape[0], self.noise, self.device)
        with torch.set_grad_enabled(last):
            fake = G(z, h)
        f_real = D.features(real)
        s_real, s_fake = D.score(f_real, h), D.critique(fake.detach(), h).score
        if self.text.matching_aware:
            s_wrong = D.score(f_real, mismatched(h))
            loss = matching_aware_d_loss(s_real, s_wrong, s_fake, self.hyper.real_label)
            record["d_mismatched"] = torch.sigmoid(s_wrong).mean().detach()
        else:
            loss = naive_d_loss(s_real, s_fake, self.hyper.real_label)
        self.update_d(loss)
        return TextStep(z, fake, None, loss, text=h)

    def g_step(self, sigma: float, last: DiscriminatorStep) -> Tensor:
        """Non-saturating G update on the step's samples, plus (GAN-INT) samples for interpolated captions."""
        s_fake = self.D.critique(last.fake, last.text).score
        s_int = None
        if self.text.interpolate:
            h_int = interpolate_embeddings(last.text, mismatched(last.text), self.text.beta)
            z_int = self.G.sample_latent(h_int.shape[0], self.noise, self.device)
            s_int = self.D.critique(self.G(z_int, h_int), h_int).score
        loss = generator_loss(s_fake, s_int)
        self.update_g(loss)
        return loss

    def _checkpoint(self, noise_states: List[Tensor]) -> Dict[str, Any]:
        state = super()._checkpoint(noise_states)
        state["text"] = {"settings": self.text.to_dict(), "encoder_kwargs": self.encoder.config(),
                         "encoder": self.encoder.state_dict(), "vocab": list(WORDS)}
        return state

    def grid(self) -> None:
        """Progress grid: one row per class caption ("a coat", …), the same latents in every row."""
        if self.out_dir is not None and self.ctx.is_main:
            sampler = self.ema_G if self.ema_G is not None else self.G
            images = sample_captions(sampler, self.encoder, GRID_CAPTIONS, per_caption=8, seed=self.cfg.seed + 7919)
            save_pixel_grid(images, Path(self.out_dir) / "samples" / f"step_{self.step:06d}.png", nrow=8)

    def finish(self) -> TextGANRun:
        run = super().finish()
        return TextGANRun(**vars(run), encoder=self.encoder, text=self.text)


def text_config(cfg: GANConfig) -> GANConfig:
    """The resolved config, refused if it asks for what GAN-CLS does not do here."""
    cfg = cfg.resolved()
    if cfg.spec.name != "non-saturating":
        raise ValueError(f"gan-cls trains with the non-saturating BCE loss of Reed et al., not {cfg.spec.name!r}")
    if cfg.arch != "dcgan" or cfg.conditional or cfg.minibatch_discrimination or cfg.spectral_norm:
        raise ValueError("gan-cls has its own text-conditional DCGAN models: no --arch, --conditional, "
                         "--spectral-norm or --minibatch-discrimination")
    if cfg.d_steps != 1:
        raise ValueError("gan-cls takes one discriminator step per generator step")
    return cfg


def train_text_gan(images: Tensor, labels: Tensor, cfg: GANConfig = GANConfig(latent_dim=64, width=32),
                   text: TextSettings = TextSettings(), *, steps: int, device: Union[str, torch.device] = "cpu",
                   out_dir: Optional[Union[str, Path]] = None, resume: bool = False, sample_every: int = 500,
                   checkpoint_every: int = 500, log_every: int = 50, progress: bool = True,
                   identity: Optional[Dict[str, Any]] = None) -> TextGANRun:
    """Train GAN-CLS (``text.mode``) on images (N, 1, H, W) in [0, 1] captioned from their ``labels``
    (class indices of ``captions.CLASS_NAMES``) and measured attributes, to ``steps`` iterations;
    ``out_dir``/``resume`` as :func:`robustgan.gan.train_gan`."""
    check_training_data(images, labels)
    schedule = Schedule(steps, sample_every, checkpoint_every, log_every)
    schedule.check()
    cfg, text = text_config(cfg), text.validate()
    tokens = encode(caption_images(images, labels))
    ctx = distributed.setup(str(device))
    try:
        if cfg.batch_size % ctx.world:
            raise ValueError(f"batch_size {cfg.batch_size} must be divisible by the {ctx.world} processes")
        trainer = TextGANTrainer(ctx, images, tokens, cfg, text, device=torch.device(ctx.device), schedule=schedule,
                                 out_dir=out_dir, identity=identity)
        if resume:
            trainer.restore()
        return trainer.run(progress)
    finally:
        ctx.close()
