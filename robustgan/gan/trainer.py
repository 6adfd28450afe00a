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

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from .. import distributed
from ..interrupt import RunInterrupted, deferred_interrupt
from ..models.checkpoint import atomic_save
from ..runs import check_resume, run_identity
from ..optim.freeze import frozen
from . import losses as L
from .build import FORMAT, build_discriminator, build_generator, load_checkpoint, model_kwargs
from .config import GANConfig
from .data import Batches, check_images
from .grid import save_grid
from .models import PLANS, DCGANGenerator
from .penalties import clip_weights, dragan_penalty, gradient_penalty
from .registry import Hyper
from .tricks import add_instance_noise, ema_copy, ema_update, instance_noise_std

CHECKPOINT = "checkpoint.pt"
GRID_SIZE = 64


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


def _optimizer(cfg: GANConfig, params, lr: float) -> torch.optim.Optimizer:
    """Adam or RMSprop; the fused implementation where this torch has one for the device (same
    update rule, one kernel for all parameters instead of a loop)."""
    params = list(params)
    cls = torch.optim.RMSprop if cfg.optimizer == "rmsprop" else torch.optim.Adam
    kwargs = {"lr": lr} if cfg.optimizer == "rmsprop" else {"lr": lr, "betas": cfg.betas}
    try:
        return cls(params, fused=True, **kwargs)
    except (TypeError, RuntimeError, ValueError):
        return cls(params, **kwargs)


def _fixed_latent(g: DCGANGenerator, seed: int, device: torch.device):
    """The latents of the progress grids: one per column per class/category when there is one."""
    gen = torch.Generator().manual_seed(seed + 7919)
    z = g.sample_latent(GRID_SIZE, gen, device=torch.device("cpu"))
    labels, nrow = None, 8
    if g.num_classes:
        nrow = g.num_classes if g.num_classes <= 16 else 8
        labels = torch.arange(GRID_SIZE) % g.num_classes
    elif g.code_categorical:
        nrow = g.code_categorical if g.code_categorical <= 16 else 8
        z = g.with_codes(z, torch.arange(GRID_SIZE) % g.code_categorical)
    return z.to(device), (labels.to(device) if labels is not None else None), nrow


@torch.no_grad()
def sample_grid(g: DCGANGenerator, z: Tensor, labels: Optional[Tensor]) -> Tensor:
    """G(z) in eval mode; the generator's mode and flags are restored afterwards."""
    with frozen([g]):
        return g(z, labels)


def noise_seed(seed: int, rank: int) -> int:
    """Seed of one rank's latent/noise generator: rank 0 draws what a one-process run draws."""
    return seed + 1_000_003 * rank


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
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be an integer ≥ 0, got {steps!r}")
    for name, v in (("sample_every", sample_every), ("checkpoint_every", checkpoint_every), ("log_every", log_every)):
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    cfg = config.resolved()
    spec = cfg.spec
    size, channels = images.shape[-1], images.shape[1]
    if size not in PLANS:
        raise ValueError(f"DCGAN here supports {sorted(PLANS)}-pixel images, got {size}×{size}")
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels is not None and labels.numel() else 0
    if cfg.conditional and labels is None:
        raise ValueError(f"{spec.name} with class conditioning needs labels")
    if cfg.batch_size % ctx.world:
        raise ValueError(f"batch_size {cfg.batch_size} must be divisible by the {ctx.world} processes")
    local = slice(ctx.rank * cfg.batch_size // ctx.world, (ctx.rank + 1) * cfg.batch_size // ctx.world)
    device = torch.device(device)
    ckpt_path = Path(out_dir) / CHECKPOINT if out_dir is not None else None

    g_kwargs, d_kwargs = model_kwargs(cfg, size, channels, num_classes)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        G, D = build_generator(g_kwargs), build_discriminator(d_kwargs)
    G.to(device).train()
    D.to(device).train()
    ema_G = ema_copy(G) if cfg.ema > 0 else None
    g_params = list(G.parameters())
    opt_g = _optimizer(cfg, g_params, cfg.lr_g)
    opt_d = _optimizer(cfg, D.parameters(), cfg.lr_d)
    noise = torch.Generator(device=device).manual_seed(noise_seed(cfg.seed, ctx.rank))
    batches = Batches(images.to(device), labels.to(device) if labels is not None else None, cfg.batch_size, cfg.seed)
    step, k, history = 0, 0.0, []

    if resume:
        def read() -> Dict[str, Any]:  # rank 0 alone reads the run folder; every rank gets the state
            if ckpt_path is None or not ckpt_path.exists():
                raise FileNotFoundError(f"resume requested but no checkpoint at {ckpt_path}")
            return load_checkpoint(ckpt_path, map_location="cpu" if ctx.active else device)

        state = ctx.main_only(read)
        if identity is not None:
            check_resume(state.get("run"), {**cfg.to_dict(), **identity}, ckpt_path)
        saved = GANConfig.from_dict(state["config"]).resolved().to_dict()
        differ = sorted(key for key, v in cfg.to_dict().items() if saved[key] != v)
        if differ:
            raise ValueError(f"cannot resume {ckpt_path}: settings differ from the run that wrote it: "
                             + ", ".join(f"{key} ({saved[key]!r} → {cfg.to_dict()[key]!r})" for key in differ))
        if state["generator_kwargs"] != g_kwargs:
            raise ValueError(f"cannot resume {ckpt_path}: it was trained on data of another shape or class count")
        G.load_state_dict(state["generator"])
        D.load_state_dict(state["discriminator"])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        if ema_G is not None:
            ema_G.load_state_dict(state["generator_ema"])
        noise.set_state(_noise_state(state, ctx, noise_seed(cfg.seed, ctx.rank) + int(state["step"]), device))
        batches = Batches(batches.images, batches.labels, cfg.batch_size, cfg.seed, **state["data_cursor"])
        step, k, history = int(state["step"]), float(state["loss_state"]["k"]), list(state["history"])

    fixed_z, fixed_y, nrow = _fixed_latent(G, cfg.seed, device)
    hyper = Hyper(real_label=1.0 - cfg.label_smoothing, margin=cfg.ebgan_margin, k=k)
    concat = D.num_classes > 0
    pending: List[Dict[str, Tensor]] = []
    saved_step = step if resume else -1
    floats: List[Dict[str, float]] = []

    def critic(y):
        return lambda x: D.critique(x, y if concat else None).score

    def flush() -> None:
        if pending:
            keys = list(pending[0])
            values = _rank_mean(ctx, torch.stack([torch.stack([p[key] for p in pending]) for key in keys]))
            for i, f in enumerate(floats):
                history.append({"step": f.pop("step"), **{key: values[j][i] for j, key in enumerate(keys)}, **f})
            pending.clear()
            floats.clear()

    def save() -> None:
        nonlocal saved_step
        flush()
        if ckpt_path is None or saved_step == step:
            return
        saved_step = step
        noise_states = ctx.gather(noise.get_state())
        if not ctx.is_main:
            return
        atomic_save({
            "format": FORMAT, "config": cfg.to_dict(), "step": step,
            "generator_kwargs": g_kwargs, "discriminator_kwargs": d_kwargs,
            "generator": G.state_dict(), "discriminator": D.state_dict(),
            "generator_ema": ema_G.state_dict() if ema_G is not None else None,
            "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
            "noise_rng": noise_states[0], "noise_rng_ranks": noise_states, "data_cursor": batches.state(),
            "loss_state": {"k": hyper.k}, "history": history,
            "run": run_identity({**cfg.to_dict(), **(identity or {})}),
        }, ckpt_path)

    def grid() -> None:
        if out_dir is not None and ctx.is_main:
            save_grid(sample_grid(ema_G if ema_G is not None else G, fixed_z, fixed_y),
                      Path(out_dir) / "samples" / f"step_{step:06d}.png", nrow=nrow)

    def _train_step() -> None:
        nonlocal step, hyper
        sigma = instance_noise_std(step, cfg.instance_noise, cfg.instance_noise_anneal)
        record: Dict[str, Tensor] = {}
        for i in range(cfg.d_steps):
            real, y_real = batches.next()
            if ctx.active:  # this rank's share of the global batch
                real, y_real = real[local], (y_real[local] if y_real is not None else None)
            n = real.shape[0]
            z = G.sample_latent(n, noise, device)
            y_fake = torch.randint(0, num_classes, (n,), generator=noise, device=device) if G.num_classes else None
            last = i == cfg.d_steps - 1
            with torch.set_grad_enabled(last):
                fake = G(z, y_fake)
            r_in = add_instance_noise(real, sigma, noise)
            f_in = add_instance_noise(fake.detach(), sigma, noise)
            cr = D.critique(r_in, y_real if concat else None)
            cf = D.critique(f_in, y_fake if concat else None)
            loss_d = spec.d_loss(cr.score, cf.score, hyper)
            if spec.conditioning == "aux":
                loss_d = loss_d + cfg.aux_weight * (L.acgan_class_loss(cr.class_logits, y_real)
                                                    + L.acgan_class_loss(cf.class_logits, y_fake))
            elif spec.conditioning == "info":
                cat, cont = G.split_codes(z)
                loss_d = loss_d + cfg.info_weight * L.infogan_loss(cf.code_logits, cat, cf.code_cont, cont)
            if spec.penalty == "gp":
                penalty = gradient_penalty(critic(y_real), r_in, f_in, cfg.gp_weight, noise)
                record["penalty"] = penalty.detach()
                loss_d = loss_d + penalty
            elif spec.penalty == "dragan":
                penalty = dragan_penalty(critic(y_real), r_in, cfg.gp_weight, generator=noise)
                record["penalty"] = penalty.detach()
                loss_d = loss_d + penalty
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            ctx.average_gradients(D.parameters())
            opt_d.step()
            if spec.clip:
                clip_weights(D, cfg.clip)
            if spec.name == "began":
                real_score, fake_score = _global_means(ctx, cr.score, cf.score)  # one k_t on every rank
                convergence = L.began_convergence(real_score, fake_score, cfg.began_gamma)
                hyper = Hyper(hyper.real_label, hyper.margin,
                              L.began_update(hyper.k, real_score, fake_score, cfg.began_gamma, cfg.began_lambda_k))
        # generator step on the last samples; only G's weights receive gradients
        cg = D.critique(add_instance_noise(fake, sigma, noise), y_fake if concat else None)
        loss_g = spec.g_loss(cg.score)
        if spec.conditioning == "aux":
            loss_g = loss_g + cfg.aux_weight * L.acgan_class_loss(cg.class_logits, y_fake)
        elif spec.conditioning == "info":
            loss_g = loss_g + cfg.info_weight * L.infogan_loss(cg.code_logits, cat, cg.code_cont, cont)
        elif spec.name == "ebgan" and cfg.pt_weight:
            loss_g = loss_g + cfg.pt_weight * L.pulling_away(cg.embedding)
        opt_g.zero_grad(set_to_none=True)
        torch.autograd.backward(loss_g, inputs=g_params)
        ctx.average_gradients(g_params)
        opt_g.step()
        if ema_G is not None:
            ema_update(ema_G, G, cfg.ema)
        step += 1
        record["d_loss"], record["g_loss"] = loss_d.detach(), loss_g.detach()
        pending.append(record)
        extra: Dict[str, Any] = {"step": step}
        if spec.name == "began":
            extra["k"], extra["convergence"] = hyper.k, convergence
        floats.append(extra)
        bar.update(1)
        if step % log_every == 0 or step == steps:
            flush()
            bar.set_postfix(d_loss=f"{history[-1]['d_loss']:.3f}", g_loss=f"{history[-1]['g_loss']:.3f}")
        if step % sample_every == 0:
            grid()
        if step % checkpoint_every == 0:
            save()

    bar = tqdm(total=steps, initial=min(step, steps), desc=f"gan {spec.name}", disable=not (progress and ctx.is_main),
               unit="step")
    with deferred_interrupt(enabled=not ctx.active) as stop:
        while step < steps:
            _train_step()
            if stop.requested:
                bar.close()
                save()
                where = f"; checkpoint saved at {ckpt_path}: continue with --resume" if ckpt_path else ""
                raise RunInterrupted(f"interrupted after step {step} of {steps}{where}")
    bar.close()
    flush()
    if steps % sample_every or not history:
        grid()
    save()
    for module in (G, D, ema_G):  # rank 0's BatchNorm statistics everywhere, as DDP would leave them
        if module is not None:
            ctx.broadcast_buffers(module)
    G.eval()
    D.eval()
    return GANRun(G, D, ema_G, cfg, step, history, ckpt_path)


def _rank_mean(ctx: distributed.DistContext, values: Tensor) -> List[List[float]]:
    """The logged losses of every rank averaged (the loss of the global batch): one history everywhere."""
    if not ctx.active:
        return values.tolist()
    flat = [v / ctx.world for v in ctx.sum(values.flatten().tolist())]
    return torch.tensor(flat, dtype=torch.float64).view(values.shape).tolist()


def _global_means(ctx: distributed.DistContext, real: Tensor, fake: Tensor) -> Tuple[Tensor, Tensor]:
    """BEGAN's critic means over the global batch, so that every rank steers k_t alike."""
    if not ctx.active:
        return real, fake
    r, f = ctx.sum([float(real.detach().mean()), float(fake.detach().mean())])
    return torch.tensor(r / ctx.world), torch.tensor(f / ctx.world)


def _noise_state(state: Dict[str, Any], ctx: distributed.DistContext, fresh_seed: int,
                 device: torch.device) -> Tensor:
    """This rank's saved noise generator; a run resumed on another process count keeps rank 0's and
    seeds the others afresh (from the seed, rank and step: no rank repeats another's draws)."""
    ranks = state.get("noise_rng_ranks")
    if ranks is not None and len(ranks) == ctx.world:
        return ranks[ctx.rank].cpu()
    if ctx.is_main:
        return state["noise_rng"].cpu()
    return torch.Generator(device=device).manual_seed(fresh_seed).get_state()
