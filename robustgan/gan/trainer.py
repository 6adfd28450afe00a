"""GAN training: k discriminator steps per generator step, any loss of the table, atomic checkpoints.

One iteration (= one step of the counter) is ``d_steps`` discriminator updates, each on a fresh
real batch and fresh latents, then one generator update on the samples of the last of them (as
in the PyTorch DCGAN example, which generates once per iteration). Randomness comes from two
seeded sources only — the data order (seeded per epoch) and one ``torch.Generator`` for latents,
labels, penalty interpolation and instance noise — and the checkpoint holds both, with models,
optimisers, EMA weights, BEGAN's k_t, the step counter and the loss history, so a resumed run
continues bit for bit as an uninterrupted one on CPU.

Under ``torchrun`` (WORLD_SIZE > 1) the same call trains data-parallel, as the classifier trainer
does: every rank takes its disjoint share of each (global) batch and draws its own latents, the
gradients are averaged over the ranks before every optimiser step, so the weights stay identical
on every rank, and rank 0 alone writes checkpoints and grids. The gradients are averaged by hand
(:meth:`~robustgan.distributed.DistContext.average_gradients`) rather than by a DDP wrapper: the
critic is called several times per backward (real, generated, penalty points) and differentiated
twice by gradient penalties, which DDP's reducer does not support; the update is the same.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from .. import distributed
from ..models.checkpoint import atomic_save
from ..runs import run_identity
from . import losses as L
from .build import FORMAT, build_discriminator, build_generator, model_kwargs
from .config import GANConfig
from .data import Batches, check_training_data as check_images
from .grid import save_pixel_grid as save_grid
from .models import PLANS, Critique, DCGANGenerator
from .optimizers import make_optimizer
from .penalties import clip_weights
from .progress_grid import GRID_SIZE, fixed_latent, sample_grid
from .ranks import global_means, noise_seed, rank_mean, saved_noise_state
from .registry import Hyper
from .resume import check_same_run, read_checkpoint
from .step_losses import critic_penalty, discriminator_objective, generator_objective
from .until import train_to
from .tricks import add_instance_noise, ema_copy, ema_update, instance_noise_std

__all__ = ["CHECKPOINT", "GRID_SIZE", "GANRun", "GANTrainer", "Schedule", "noise_seed", "sample_grid", "train_gan"]

CHECKPOINT = "checkpoint.pt"


@dataclass
class GANRun:
    """A finished (or resumed-and-finished) run."""

    generator: DCGANGenerator
    discriminator: nn.Module
    generator_ema: Optional[DCGANGenerator]
    config: GANConfig
    step: int
    history: List[Dict[str, float]]
    checkpoint: Optional[Path]

    @property
    def sampler(self) -> DCGANGenerator:
        """The generator to sample from: the EMA weights when kept, else the trained ones."""
        return self.generator_ema if self.generator_ema is not None else self.generator


@dataclass(frozen=True)
class Schedule:
    """How many iterations to reach, and every how many to log, draw a grid and save."""

    steps: int
    sample_every: int = 500
    checkpoint_every: int = 500
    log_every: int = 50

    def check(self) -> None:
        """A clear error before anything is built, rather than a loop that never logs or never ends."""
        if not isinstance(self.steps, int) or self.steps < 0:
            raise ValueError(f"steps must be an integer ≥ 0, got {self.steps!r}")
        for name in ("sample_every", "checkpoint_every", "log_every"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")


@dataclass
class DiscriminatorStep:
    """What one discriminator update leaves for the generator update and the log."""

    z: Tensor
    fake: Tensor  # G(z), with its graph on the last discriminator step of an iteration
    y_fake: Optional[Tensor]
    loss: Tensor
    convergence: Optional[float] = None  # BEGAN's convergence measure


def train_gan(images: Tensor, labels: Optional[Tensor] = None, config: GANConfig = GANConfig(), *,
              device: Union[str, torch.device] = "cpu", **options: Any) -> GANRun:
    """Train a GAN on ``images`` on this process, or on every process of a ``torchrun`` launch (gloo on
    CPU, nccl on CUDA): the options (``steps``, ``out_dir``, ``resume``, …) are :func:`_train_gan`'s."""
    ctx = distributed.setup(str(device))
    try:
        return _train_gan(ctx, images, labels, config, device=ctx.device, **options)
    finally:
        ctx.close()


def _train_gan(ctx: distributed.DistContext, images: Tensor, labels: Optional[Tensor] = None,
               config: GANConfig = GANConfig(), *, steps: int, num_classes: Optional[int] = None,
               out_dir: Optional[Union[str, Path]] = None, resume: bool = False,
               device: Union[str, torch.device] = "cpu", sample_every: int = 500, checkpoint_every: int = 500,
               log_every: int = 50, progress: bool = True, identity: Optional[Dict[str, Any]] = None) -> GANRun:
    """Train a GAN on ``images`` (N, C, H, W) in [0, 1] (labels for conditional variants) to ``steps`` iterations.

    With ``out_dir``, writes ``checkpoint.pt`` every ``checkpoint_every`` steps and at the end, and
    a PNG grid ``samples/step_XXXXXX.png`` every ``sample_every`` steps. ``resume=True`` loads the
    checkpoint and continues its step counter: the steps already done count toward ``steps``.
    The checkpoint records the run identity (the config plus ``identity``: the settings of the data
    only the caller knows); given ``identity``, a resume continues only exactly that run.

    Run under ``torchrun`` to train on several processes (``batch_size`` is the global batch, split
    evenly over them); nothing else changes. The checkpoint then holds every rank's noise generator.
    """
    check_images(images, labels)
    schedule = Schedule(steps, sample_every, checkpoint_every, log_every)
    schedule.check()
    cfg, num_classes = _checked_config(ctx, images, labels, config, num_classes)
    trainer = _trainer_class(cfg)(ctx, images, labels, cfg, num_classes=num_classes, device=torch.device(device),
                         schedule=schedule, out_dir=out_dir, identity=identity)
    if resume:
        trainer.restore()
    return trainer.run(progress)


def _trainer_class(cfg: GANConfig) -> type:
    """GANTrainer, or LAPGAN's, which trains one generator and discriminator per pyramid level."""
    if cfg.arch == "lapgan":
        from .lapgan.trainer import LAPGANTrainer
        return LAPGANTrainer
    return GANTrainer


def _checked_config(ctx: distributed.DistContext, images: Tensor, labels: Optional[Tensor], config: GANConfig,
                    num_classes: Optional[int]) -> Tuple[GANConfig, int]:
    """The resolved config and the class count, once they are known to fit the data and the processes."""
    cfg = config.resolved()
    size = images.shape[-1]
    if size not in PLANS:
        raise ValueError(f"DCGAN here supports {sorted(PLANS)}-pixel images, got {size}×{size}")
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels is not None and labels.numel() else 0
    if cfg.conditional and labels is None:
        raise ValueError(f"{cfg.spec.name} with class conditioning needs labels")
    if cfg.batch_size % ctx.world:
        raise ValueError(f"batch_size {cfg.batch_size} must be divisible by the {ctx.world} processes")
    return cfg, num_classes


class GANTrainer:
    """One run's models, optimisers, random sources and counters, and the steps of its loop.

    The methods keep the order of every random draw of the loop (data, latents, labels, instance
    noise, penalty points): that order is what makes a resumed run the uninterrupted one's bits.
    """

    def __init__(self, ctx: distributed.DistContext, images: Tensor, labels: Optional[Tensor], cfg: GANConfig, *,
                 num_classes: int, device: torch.device, schedule: Schedule,
                 out_dir: Optional[Union[str, Path]] = None, identity: Optional[Dict[str, Any]] = None):
        self.ctx, self.cfg, self.spec, self.device = ctx, cfg, cfg.spec, device
        self.num_classes, self.schedule, self.identity = num_classes, schedule, identity
        self.out_dir = out_dir
        self.ckpt_path = Path(out_dir) / CHECKPOINT if out_dir is not None else None
        self.local = slice(ctx.rank * cfg.batch_size // ctx.world, (ctx.rank + 1) * cfg.batch_size // ctx.world)
        self._build_models(images.shape[-1], images.shape[1])
        self.noise = torch.Generator(device=device).manual_seed(noise_seed(cfg.seed, ctx.rank))
        if hasattr(self.G, "noise_source"):  # a style-based G draws its noise and mixing from the run's source
            self.G.noise_source = self.noise
        self.batches = Batches(images.to(device), labels.to(device) if labels is not None else None,
                               cfg.batch_size, cfg.seed)
        self.step, self.history = 0, []
        self.hyper = Hyper(real_label=1.0 - cfg.label_smoothing, margin=cfg.ebgan_margin, k=0.0)
        self.saved_step = -1
        self.pending: List[Dict[str, Tensor]] = []  # losses still on the device, one dict per step
        self.floats: List[Dict[str, Any]] = []      # the step and BEGAN's numbers of the same steps

    def _build_models(self, size: int, channels: int) -> None:
        """G and D from the seed (without touching the global RNG), the EMA copy and the optimisers."""
        cfg = self.cfg
        self.g_kwargs, self.d_kwargs = model_kwargs(cfg, size, channels, self.num_classes)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            self.G, self.D = build_generator(self.g_kwargs), build_discriminator(self.d_kwargs)
        self.G.to(self.device).train()
        self.D.to(self.device).train()
        self.ema_G = ema_copy(self.G) if cfg.ema > 0 else None
        self.g_params = list(self.G.parameters())
        self.opt_g = make_optimizer(cfg, self.g_params, cfg.lr_g)
        self.opt_d = make_optimizer(cfg, self.D.parameters(), cfg.lr_d)
        self.concat = self.D.num_classes > 0

    def restore(self) -> None:
        """Continue the run of the checkpoint: weights, optimisers, EMA, noise, data cursor, k_t, counter, history."""
        cfg, ctx = self.cfg, self.ctx
        state = read_checkpoint(ctx, self.ckpt_path, self.device)
        check_same_run(state, cfg, self.g_kwargs, self.identity, self.ckpt_path)
        self.G.load_state_dict(state["generator"])
        self.D.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        if self.ema_G is not None:
            self.ema_G.load_state_dict(state["generator_ema"])
        fresh_seed = noise_seed(cfg.seed, ctx.rank) + int(state["step"])
        self.noise.set_state(saved_noise_state(state, ctx, fresh_seed, self.device))
        self.batches = Batches(self.batches.images, self.batches.labels, cfg.batch_size, cfg.seed,
                               **state["data_cursor"])
        self.step, self.history = int(state["step"]), list(state["history"])
        self.hyper = replace(self.hyper, k=float(state["loss_state"]["k"]))
        self.saved_step = self.step

    def _condition(self, y: Optional[Tensor]) -> Optional[Tensor]:
        """The labels D is given: only a discriminator that takes them sees them."""
        return y if self.concat else None

    def _critic(self, y: Optional[Tensor]) -> Callable[[Tensor], Tensor]:
        return lambda x: self.D.critique(x, self._condition(y)).score

    def d_step(self, sigma: float, last: bool, record: Dict[str, Tensor]) -> DiscriminatorStep:
        """One discriminator update on a fresh real batch (this rank's share) and fresh latents; G's
        graph is kept on the ``last`` one of the iteration only, for the generator update."""
        cfg, spec, G, D, noise = self.cfg, self.spec, self.G, self.D, self.noise
        real, y_real = self.batches.next()
        if self.ctx.active:  # this rank's share of the global batch
            real, y_real = real[self.local], (y_real[self.local] if y_real is not None else None)
        n = real.shape[0]
        z = G.sample_latent(n, noise, self.device)
        y_fake = (torch.randint(0, self.num_classes, (n,), generator=noise, device=self.device)
                  if G.num_classes else None)
        with torch.set_grad_enabled(last):
            fake = G(z, y_fake)
        r_in = add_instance_noise(real, sigma, noise)
        f_in = add_instance_noise(fake.detach(), sigma, noise)
        cr = D.critique(r_in, self._condition(y_real))
        cf = D.critique(f_in, self._condition(y_fake))
        loss_d = discriminator_objective(spec, cfg, self.hyper, G, cr, cf, y_real, y_fake, z)
        penalty = critic_penalty(spec, cfg, self._critic(y_real), r_in, f_in, noise)
        if penalty is not None:
            record["penalty"] = penalty.detach()
            loss_d = loss_d + penalty
        self.update_d(loss_d)
        convergence = self._steer_began(cr, cf) if spec.name == "began" else None
        return DiscriminatorStep(z, fake, y_fake, loss_d, convergence)

    def _steer_began(self, real: Critique, fake: Critique) -> float:
        """BEGAN's k_t update from the global batch's critic means; its convergence measure."""
        cfg, hyper = self.cfg, self.hyper
        real_score, fake_score = global_means(self.ctx, real.score, fake.score)  # one k_t on every rank
        convergence = L.began_convergence(real_score, fake_score, cfg.began_gamma)
        self.hyper = Hyper(hyper.real_label, hyper.margin,
                           L.began_update(hyper.k, real_score, fake_score, cfg.began_gamma, cfg.began_lambda_k))
        return convergence

    def g_step(self, sigma: float, last: DiscriminatorStep) -> Tensor:
        """One generator update on the last discriminator step's samples (only G's weights receive
        gradients), then the EMA weights follow."""
        cg = self.D.critique(add_instance_noise(last.fake, sigma, self.noise), self._condition(last.y_fake))
        loss_g = generator_objective(self.spec, self.cfg, self.G, cg, last.y_fake, last.z)
        self.update_g(loss_g)
        return loss_g

    def update_d(self, loss_d: Tensor) -> None:
        """D's optimiser step on ``loss_d`` (gradients averaged over the ranks), then WGAN's clipping."""
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.ctx.average_gradients(self.D.parameters())
        self.opt_d.step()
        if self.spec.clip:
            clip_weights(self.D, self.cfg.clip)

    def update_g(self, loss_g: Tensor) -> None:
        """G's optimiser step on ``loss_g`` (only G's weights receive gradients), then the EMA weights follow."""
        self.opt_g.zero_grad(set_to_none=True)
        torch.autograd.backward(loss_g, inputs=self.g_params)
        self.ctx.average_gradients(self.g_params)
        self.opt_g.step()
        if self.ema_G is not None:
            ema_update(self.ema_G, self.G, self.cfg.ema)

    def advance(self) -> None:
        """Models with a step-driven schedule (progressive growing) take this iteration's resolution and α."""
        for module in (self.G, self.D, self.ema_G):
            if module is not None and hasattr(module, "advance"):
                module.advance(self.step)

    def train_step(self) -> None:
        """One iteration: ``d_steps`` discriminator updates, one generator update, then what is due."""
        cfg = self.cfg
        sigma = instance_noise_std(self.step, cfg.instance_noise, cfg.instance_noise_anneal)
        self.advance()
        record: Dict[str, Tensor] = {}
        for i in range(cfg.d_steps):
            d = self.d_step(sigma, i == cfg.d_steps - 1, record)
        loss_g = self.g_step(sigma, d)
        self.step += 1
        self._record(record, d, loss_g)
        self._periodic()

    def _record(self, record: Dict[str, Tensor], d: DiscriminatorStep, loss_g: Tensor) -> None:
        """Keep this step's losses on the device until the next flush (no synchronisation per step)."""
        record["d_loss"], record["g_loss"] = d.loss.detach(), loss_g.detach()
        self.pending.append(record)
        extra: Dict[str, Any] = {"step": self.step}
        if self.spec.name == "began":
            extra["k"], extra["convergence"] = self.hyper.k, d.convergence
        self.floats.append(extra)

    def _periodic(self) -> None:
        """The progress bar, and the log, grid and checkpoint this step is due for."""
        step, schedule = self.step, self.schedule
        self.bar.update(1)
        if step % schedule.log_every == 0 or step == schedule.steps:
            self.flush()
            self.bar.set_postfix(d_loss=f"{self.history[-1]['d_loss']:.3f}", g_loss=f"{self.history[-1]['g_loss']:.3f}")
        if step % schedule.sample_every == 0:
            self.grid()
        if step % schedule.checkpoint_every == 0:
            self.save()

    def flush(self) -> None:
        """Move the kept losses into the history: one transfer, averaged over the ranks."""
        if self.pending:
            keys = list(self.pending[0])
            stacked = torch.stack([torch.stack([p[key] for p in self.pending]) for key in keys])
            values = rank_mean(self.ctx, stacked)
            for i, f in enumerate(self.floats):
                self.history.append({"step": f.pop("step"), **{key: values[j][i] for j, key in enumerate(keys)}, **f})
            self.pending.clear()
            self.floats.clear()

    def save(self) -> None:
        """Write the checkpoint (rank 0, atomically), unless there is no run folder or this step's is written."""
        self.flush()
        if self.ckpt_path is None or self.saved_step == self.step:
            return
        self.saved_step = self.step
        noise_states = self.ctx.gather(self.noise.get_state())
        if not self.ctx.is_main:
            return
        atomic_save(self._checkpoint(noise_states), self.ckpt_path)

    def _checkpoint(self, noise_states: List[Tensor]) -> Dict[str, Any]:
        """Everything a resume needs, as plain data."""
        cfg = self.cfg
        return {
            "format": FORMAT, "config": cfg.to_dict(), "step": self.step,
            "generator_kwargs": self.g_kwargs, "discriminator_kwargs": self.d_kwargs,
            "generator": self.G.state_dict(), "discriminator": self.D.state_dict(),
            "generator_ema": self.ema_G.state_dict() if self.ema_G is not None else None,
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "noise_rng": noise_states[0], "noise_rng_ranks": noise_states, "data_cursor": self.batches.state(),
            "loss_state": {"k": self.hyper.k}, "history": self.history,
            "run": run_identity({**cfg.to_dict(), **(self.identity or {})}),
        }

    def grid(self) -> None:
        """The progress grid of this step (rank 0, with a run folder), from the EMA weights when kept."""
        if self.out_dir is not None and self.ctx.is_main:
            sampler = self.ema_G if self.ema_G is not None else self.G
            save_grid(sample_grid(sampler, self.fixed_z, self.fixed_y),
                      Path(self.out_dir) / "samples" / f"step_{self.step:06d}.png", nrow=self.nrow)

    def run(self, progress: bool = True) -> GANRun:
        """The loop to ``steps``; a first Ctrl-C ends it at the end of the current step, checkpoint saved."""
        steps = self.schedule.steps
        self.fixed_z, self.fixed_y, self.nrow = fixed_latent(self.G, self.cfg.seed, self.device)
        self.bar = tqdm(total=steps, initial=min(self.step, steps), desc=f"gan {self.spec.name}",
                        disable=not (progress and self.ctx.is_main), unit="step")
        train_to(self, steps, self.bar, resume_hint="--resume", enabled=not self.ctx.active)
        return self.finish()

    def finish(self) -> GANRun:
        """The last log, grid and checkpoint; rank 0's BatchNorm statistics everywhere; eval mode."""
        self.flush()
        if self.schedule.steps % self.schedule.sample_every or not self.history:
            self.grid()
        self.save()
        for module in (self.G, self.D, self.ema_G):  # rank 0's BatchNorm statistics everywhere, as DDP would leave them
            if module is not None:
                self.ctx.broadcast_buffers(module)
        self.G.eval()
        self.D.eval()
        return GANRun(self.G, self.D, self.ema_G, self.cfg, self.step, self.history, self.ckpt_path)
