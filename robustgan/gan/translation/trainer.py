"""Training the translation GANs (pix2pix, CycleGAN, SRGAN, StarGAN) with one resumable loop.

One step draws a batch, runs the generator(s), updates the discriminator(s) on detached outputs,
then the generator(s) on the same outputs (only their weights receive gradients), then the EMA
copies follow. As in :mod:`robustgan.gan.trainer`, randomness has seeded sources only — each
data stream's order (seeded per epoch), one ``torch.Generator`` (StarGAN's target domains, the
seed of the global RNG for dropout, step by step) and the pools' own generators — and the
checkpoint holds them all with models, optimisers, EMA weights, the step and the history, so a
resumed run continues bit for bit as an uninterrupted one on CPU.

Under ``torchrun`` (WORLD_SIZE > 1) the same call trains data-parallel exactly as the DCGAN trainer
does (:mod:`robustgan.gan.trainer`): ``batch_size`` is the global batch, every rank walks the same
seeded data order and takes its disjoint share of each global batch (:meth:`Recipe.draw`), all
ranks build identical weights from the seed, and the gradients are averaged over the ranks before
every optimiser step (:meth:`~robustgan.distributed.DistContext.average_gradients`, not a DDP
wrapper: a discriminator is called several times per backward), so the weights and the EMA copies
stay identical on every rank. Each rank has its own noise generator (rank 0's is a one-process
run's) and, for CycleGAN, its own history pools of its own fakes, seeded per rank; the checkpoint
holds every rank's noise and pools, so a resumed multi-process run continues bit for bit too. The
logged losses are the mean over the ranks (the global batch's), rank 0 alone reads and writes the
run folder (checkpoints, atomically, and grids), and at the end every rank holds rank 0's
BatchNorm statistics, as after DDP.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Union

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from ... import distributed
from ...models.checkpoint import atomic_save, model_fingerprint
from ...optim.freeze import frozen
from ...runs import check_resume, run_identity
from ...validation import check_images
from ..data import Batches
from ..grid import save_pixel_grid
from ..ranks import noise_seed, rank_mean, saved_noise_state
from ..resume import read_checkpoint
from ..trainer import Schedule
from ..until import train_to
from ..tricks import ema_copy, ema_update
from .build import load_translation_checkpoint, network_spec, translator_record
from .config import TranslationConfig
from .cycle import CycleGAN
from .paired import SRGAN, Pix2Pix
from .recipe import GRID_COLUMNS, Recipe
from .star import StarGAN
from .tasks import TranslationTask

CHECKPOINT = "checkpoint.pt"
RECIPES = {"pix2pix": Pix2Pix, "srgan": SRGAN, "cyclegan": CycleGAN, "stargan": StarGAN}
MAIN = {"pix2pix": "G", "srgan": "G", "stargan": "G", "cyclegan": "G_ab"}


@dataclass
class TranslationRun:
    """A finished (or resumed-and-finished) run: the networks by role, in eval mode."""

    generators: Dict[str, nn.Module]
    discriminators: Dict[str, nn.Module]
    generators_ema: Optional[Dict[str, nn.Module]]
    config: TranslationConfig
    step: int
    history: List[Dict[str, float]]
    checkpoint: Optional[Path]

    @property
    def translator(self) -> nn.Module:
        """The generator to translate with (CycleGAN: A → B): its EMA weights when kept."""
        source = self.generators_ema if self.generators_ema else self.generators
        return source[MAIN[self.config.arch]]


def default_features() -> nn.Module:
    """The shipped Fashion-MNIST classifier: SRGAN's perceptual feature network unless one is given."""
    from ...models import load_classifier
    from ...models.default import default_checkpoint_path

    return load_classifier(default_checkpoint_path())


def train_translation(task: TranslationTask, config: TranslationConfig = TranslationConfig(), *, steps: int,
                      out_dir: Optional[Union[str, Path]] = None, resume: bool = False,
                      device: Union[str, torch.device] = "cpu", sample_every: int = 500, checkpoint_every: int = 500,
                      log_every: int = 50, progress: bool = True, features: Optional[nn.Module] = None,
                      identity: Optional[Dict[str, Any]] = None) -> TranslationRun:
    """Train ``config.arch`` on ``task`` to ``steps`` steps.

    With ``out_dir``, writes ``checkpoint.pt`` every ``checkpoint_every`` steps and at the end and a
    grid ``samples/step_XXXXXX.png`` every ``sample_every`` steps; ``resume=True`` continues that
    checkpoint (its steps count toward ``steps``) if it was written by exactly this run: the
    config, the task's settings, the feature network and ``identity``. ``features`` is SRGAN's
    perceptual network (default: the shipped classifier), tapped at ``config.feature_layer``.

    Run under ``torchrun`` to train on several processes (gloo on CPU, nccl on CUDA; ``batch_size``
    is the global batch, split evenly over them); nothing else changes.
    """
    ctx = distributed.setup(str(device))
    try:
        return _train_translation(ctx, task, config, steps=steps, out_dir=out_dir, resume=resume, device=ctx.device,
                                  sample_every=sample_every, checkpoint_every=checkpoint_every,
                                  log_every=log_every, progress=progress, features=features, identity=identity)
    finally:
        ctx.close()


def _train_translation(ctx: distributed.DistContext, task: TranslationTask, config: TranslationConfig, *,
                       steps: int, out_dir: Optional[Union[str, Path]], resume: bool,
                       device: Union[str, torch.device], sample_every: int, checkpoint_every: int, log_every: int,
                       progress: bool, features: Optional[nn.Module],
                       identity: Optional[Dict[str, Any]]) -> TranslationRun:
    """:func:`train_translation` on the processes of ``ctx`` (one, or every rank of a launch)."""
    cfg = config.resolved()
    schedule = Schedule(steps, sample_every, checkpoint_every, log_every)
    schedule.check()
    for images in (task.sources, task.targets):
        if images is not None:
            check_images(images)
    if features is None and cfg.arch == "srgan" and cfg.content == "perceptual":
        features = default_features()
    trainer = TranslationTrainer(task, cfg, device=torch.device(device), schedule=schedule, out_dir=out_dir,
                                 features=features, identity=identity, ctx=ctx)
    if resume:
        trainer.restore()
    return trainer.run(progress)


@contextlib.contextmanager
def seeded_global_rng(noise: torch.Generator, device: torch.device) -> Iterator[None]:
    """Dropout draws from the global RNG: seed it from the run's noise for one step, restore it after."""
    seed = int(torch.randint(0, 2 ** 62, (), generator=noise, device=noise.device))
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.random.default_generator.manual_seed(seed)
        if device.type == "cuda":
            with torch.cuda.device(device):
                torch.cuda.manual_seed(seed)
        yield


class TranslationTrainer:
    """One run's recipe (networks, pools, streams), optimisers, EMA copies, noise, counters and loop."""

    def __init__(self, task: TranslationTask, cfg: TranslationConfig, *, device: torch.device, schedule: Schedule,
                 out_dir: Optional[Union[str, Path]] = None, features: Optional[nn.Module] = None,
                 identity: Optional[Dict[str, Any]] = None, ctx: Optional[distributed.DistContext] = None):
        self.ctx = ctx if ctx is not None else distributed.DistContext(1, 0, str(device))
        if cfg.batch_size % self.ctx.world:
            raise ValueError(f"batch_size {cfg.batch_size} must be divisible by the {self.ctx.world} processes")
        self.cfg, self.device, self.schedule, self.out_dir = cfg, device, schedule, out_dir
        self.ckpt_path = Path(out_dir) / CHECKPOINT if out_dir is not None else None
        self.settings = {**cfg.to_dict(), "data": task.settings,
                         "features": model_fingerprint(features) if features is not None else None, **(identity or {})}
        self.recipe: Recipe = RECIPES[cfg.arch](cfg, task, device, features, rank=self.ctx.rank, world=self.ctx.world)
        with torch.random.fork_rng(devices=[]):  # the same weights on every rank: built from the seed alone
            torch.manual_seed(cfg.seed)
            self.recipe.build()
        for module in self.recipe.networks().values():
            module.to(device).train()
        self.generators, self.discriminators = self.recipe.generators, self.recipe.discriminators
        self.ema = {k: ema_copy(g) for k, g in self.generators.items()} if cfg.ema > 0 else None
        self.g_params = [p for g in self.generators.values() for p in g.parameters()]
        self.opt_g = self._adam(self.g_params)
        self.d_params = [p for d in self.discriminators.values() for p in d.parameters()]
        self.opt_d = self._adam(self.d_params) if self.d_params else None
        self.noise = torch.Generator(device=device).manual_seed(noise_seed(cfg.seed, self.ctx.rank))
        self.step, self.history, self.saved_step = 0, [], -1
        self.pending: List[Dict[str, Tensor]] = []

    def _adam(self, params: List[nn.Parameter]) -> torch.optim.Adam:
        return torch.optim.Adam(params, lr=self.cfg.lr, betas=(self.cfg.beta1, self.cfg.beta2))

    def restore(self) -> None:
        """Continue the checkpoint's run: networks, optimisers, EMA, pools, noise, streams, counter, history
        (rank 0 reads the checkpoint; every rank takes its own noise and pools from it)."""
        ctx = self.ctx
        state = read_checkpoint(ctx, self.ckpt_path, self.device, loader=load_translation_checkpoint)
        check_resume(state.get("run"), self.settings, self.ckpt_path)
        for group, modules in (("generators", self.generators), ("discriminators", self.discriminators),
                               ("generators_ema", self.ema or {})):
            for name, module in modules.items():
                module.load_state_dict(state[group][name])
        self.opt_g.load_state_dict(state["opt_g"])
        if self.opt_d is not None:
            self.opt_d.load_state_dict(state["opt_d"])
        pools = self._saved_pools(state)
        for name, pool in self.recipe.pools.items():
            if pools is not None:
                pool.load_state_dict(pools[name], self.device)
        for name, s in self.recipe.streams.items():
            self.recipe.streams[name] = Batches(s.images, None, s.batch_size, s.seed, **state["streams"][name])
        fresh_seed = noise_seed(self.cfg.seed, ctx.rank) + int(state["step"])
        self.noise.set_state(saved_noise_state(state, ctx, fresh_seed, self.device))
        self.step, self.history = int(state["step"]), list(state["history"])
        self.saved_step = self.step

    def _saved_pools(self, state: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        """This rank's saved pools; a run resumed on another process count keeps rank 0's, and the
        other ranks start with empty pools of their own seeds (as :func:`saved_noise_state` does)."""
        ranks = state.get("pools_ranks")
        if ranks is not None and len(ranks) == self.ctx.world:
            return ranks[self.ctx.rank]
        return state["pools"] if self.ctx.is_main else None

    def train_step(self) -> None:
        """One step: batch, generators, discriminator update, generator update, EMA, then what is due."""
        recipe = self.recipe
        rng = seeded_global_rng(self.noise, self.device) if self.cfg.dropout > 0 else contextlib.nullcontext()
        with rng:
            batch = recipe.batch(self.noise)
            out = recipe.generate(batch)
            record: Dict[str, Tensor] = {}
            if self.opt_d is not None:
                record.update(self._update(self.opt_d, recipe.d_loss(batch, out), "d_loss", None, self.d_params))
            record.update(self._update(self.opt_g, recipe.g_loss(batch, out), "g_loss", self.g_params, self.g_params))
        if self.ema is not None:
            for name, shadow in self.ema.items():
                ema_update(shadow, self.generators[name], self.cfg.ema)
        self.step += 1
        self.pending.append(record)
        self._periodic()

    def _update(self, opt: torch.optim.Optimizer, losses: Dict[str, Tensor], key: str,
                inputs: Optional[List[nn.Parameter]], params: List[nn.Parameter]) -> Dict[str, Tensor]:
        """Minimise ``losses[key]`` by one step of ``opt`` (gradients only into ``inputs`` when given),
        the gradients of its ``params`` averaged over the ranks first."""
        opt.zero_grad(set_to_none=True)
        if inputs is None:
            losses[key].backward()
        else:
            torch.autograd.backward(losses[key], inputs=inputs)
        self.ctx.average_gradients(params)
        opt.step()
        return {k: v.detach() for k, v in losses.items()}

    def _periodic(self) -> None:
        """The progress bar, and the log, grid and checkpoint this step is due for."""
        step, schedule = self.step, self.schedule
        self.bar.update(1)
        if step % schedule.log_every == 0 or step == schedule.steps:
            self.flush()
            last = self.history[-1]
            self.bar.set_postfix({k: f"{last[k]:.3f}" for k in ("d_loss", "g_loss") if k in last})
        if step % schedule.sample_every == 0:
            self.grid()
        if step % schedule.checkpoint_every == 0:
            self.save()

    def flush(self) -> None:
        """Move the kept losses into the history (one transfer for all the steps since the last flush),
        averaged over the ranks: the losses of the global batch, one history on every rank."""
        if not self.pending:
            return
        keys = list(self.pending[0])
        values = rank_mean(self.ctx, torch.stack([torch.stack([p[k] for k in keys]) for p in self.pending]))
        first = self.step - len(self.pending) + 1
        self.history += [{"step": first + i, **dict(zip(keys, row))} for i, row in enumerate(values)]
        self.pending.clear()

    def save(self) -> None:
        """Write the checkpoint (rank 0, atomically), unless there is no run folder or this step's is written."""
        self.flush()
        if self.ckpt_path is None or self.saved_step == self.step:
            return
        self.saved_step = self.step
        noise_states = self.ctx.gather(self.noise.get_state())
        pool_states = self.ctx.gather({k: p.state_dict() for k, p in self.recipe.pools.items()})
        if not self.ctx.is_main:
            return
        atomic_save(self._checkpoint(noise_states, pool_states), self.ckpt_path)

    def _checkpoint(self, noise_states: List[Tensor], pool_states: List[Dict[str, Any]]) -> Dict[str, Any]:
        """Everything a resume needs, as plain data (``weights_only=True`` loads it): rank 0's noise
        and pools, and every rank's."""
        recipe = self.recipe
        record = translator_record(self.cfg.arch, self.generators, self.ema, self.cfg.to_dict())
        record["networks"].update({k: network_spec(d) for k, d in self.discriminators.items()})
        return {**record, "step": self.step,
                "discriminators": {k: d.state_dict() for k, d in self.discriminators.items()},
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict() if self.opt_d else None,
                "pools": pool_states[0], "pools_ranks": pool_states,
                "streams": {k: s.state() for k, s in recipe.streams.items()},
                "noise_rng": noise_states[0], "noise_rng_ranks": noise_states, "history": self.history, "run": run_identity(self.settings)}

    def grid(self) -> None:
        """The progress grid of this step (rank 0, with a run folder), from the EMA weights when kept."""
        if self.out_dir is None or not self.ctx.is_main:
            return
        generators = self.ema if self.ema is not None else self.generators
        with frozen(generators.values()), torch.no_grad():
            rows = self.recipe.preview(generators, self.fixed)
        save_pixel_grid(torch.cat(rows), Path(self.out_dir) / "samples" / f"step_{self.step:06d}.png",
                        nrow=rows[0].shape[0] if rows else GRID_COLUMNS)

    def run(self, progress: bool = True) -> TranslationRun:
        """The loop to ``steps``; a first Ctrl-C ends it at the end of the current step, checkpoint saved."""
        steps = self.schedule.steps
        self.fixed = self.recipe.fixed()
        self.bar = tqdm(total=steps, initial=min(self.step, steps), desc=f"translation {self.cfg.arch}",
                        disable=not (progress and self.ctx.is_main), unit="step")
        train_to(self, steps, self.bar, resume_hint="resume", enabled=not self.ctx.active)
        return self.finish()

    def finish(self) -> TranslationRun:
        """The last log, grid and checkpoint; rank 0's BatchNorm statistics everywhere; every network in eval mode."""
        self.flush()
        if self.schedule.steps % self.schedule.sample_every or not self.history:
            self.grid()
        self.save()
        for module in [*self.recipe.networks().values(), *(self.ema or {}).values()]:
            self.ctx.broadcast_buffers(module)  # as DDP would leave them
        for module in self.recipe.networks().values():
            module.eval()
        return TranslationRun(self.generators, self.discriminators, self.ema, self.cfg, self.step, self.history,
                              self.ckpt_path)


__all__ = ["CHECKPOINT", "RECIPES", "TranslationRun", "TranslationTrainer", "default_features", "train_translation"]
