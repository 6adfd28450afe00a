"""Training the translation GANs (pix2pix, CycleGAN, SRGAN, StarGAN) with one resumable loop.

One step draws a batch, runs the generator(s), updates the discriminator(s) on detached outputs,
then the generator(s) on the same outputs (only their weights receive gradients), then the EMA
copies follow. As in :mod:`robustgan.gan.trainer`, randomness has seeded sources only — each
data stream's order (seeded per epoch), one ``torch.Generator`` (StarGAN's target domains, the
seed of the global RNG for dropout, step by step) and the pools' own generators — and the
checkpoint holds them all with models, optimisers, EMA weights, the step and the history, so a
resumed run continues bit for bit as an uninterrupted one on CPU. One process only.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Union

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from ...models.checkpoint import atomic_save, model_fingerprint
from ...optim.freeze import frozen
from ...runs import check_resume, run_identity
from ...validation import check_images
from ..data import Batches
from ..grid import save_pixel_grid
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
    """
    cfg = config.resolved()
    schedule = Schedule(steps, sample_every, checkpoint_every, log_every)
    schedule.check()
    for images in (task.sources, task.targets):
        if images is not None:
            check_images(images)
    if features is None and cfg.arch == "srgan" and cfg.content == "perceptual":
        features = default_features()
    trainer = TranslationTrainer(task, cfg, device=torch.device(device), schedule=schedule, out_dir=out_dir,
                                 features=features, identity=identity)
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
                 identity: Optional[Dict[str, Any]] = None):
        self.cfg, self.device, self.schedule, self.out_dir = cfg, device, schedule, out_dir
        self.ckpt_path = Path(out_dir) / CHECKPOINT if out_dir is not None else None
        self.settings = {**cfg.to_dict(), "data": task.settings,
                         "features": model_fingerprint(features) if features is not None else None, **(identity or {})}
        self.recipe: Recipe = RECIPES[cfg.arch](cfg, task, device, features)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            self.recipe.build()
        for module in self.recipe.networks().values():
            module.to(device).train()
        self.generators, self.discriminators = self.recipe.generators, self.recipe.discriminators
        self.ema = {k: ema_copy(g) for k, g in self.generators.items()} if cfg.ema > 0 else None
        self.g_params = [p for g in self.generators.values() for p in g.parameters()]
        self.opt_g = self._adam(self.g_params)
        d_params = [p for d in self.discriminators.values() for p in d.parameters()]
        self.opt_d = self._adam(d_params) if d_params else None
        self.noise = torch.Generator(device=device).manual_seed(cfg.seed)
        self.step, self.history, self.saved_step = 0, [], -1
        self.pending: List[Dict[str, Tensor]] = []

    def _adam(self, params: List[nn.Parameter]) -> torch.optim.Adam:
        return torch.optim.Adam(params, lr=self.cfg.lr, betas=(self.cfg.beta1, self.cfg.beta2))

    def restore(self) -> None:
        """Continue the checkpoint's run: networks, optimisers, EMA, pools, noise, streams, counter, history."""
        if self.ckpt_path is None or not self.ckpt_path.exists():
            raise FileNotFoundError(f"resume requested but no checkpoint at {self.ckpt_path}")
        state = load_translation_checkpoint(self.ckpt_path, map_location=self.device)
        check_resume(state.get("run"), self.settings, self.ckpt_path)
        for group, modules in (("generators", self.generators), ("discriminators", self.discriminators),
                               ("generators_ema", self.ema or {})):
            for name, module in modules.items():
                module.load_state_dict(state[group][name])
        self.opt_g.load_state_dict(state["opt_g"])
        if self.opt_d is not None:
            self.opt_d.load_state_dict(state["opt_d"])
        for name, pool in self.recipe.pools.items():
            pool.load_state_dict(state["pools"][name], self.device)
        for name, s in self.recipe.streams.items():
            self.recipe.streams[name] = Batches(s.images, None, s.batch_size, s.seed, **state["streams"][name])
        self.noise.set_state(state["noise_rng"].cpu())
        self.step, self.history = int(state["step"]), list(state["history"])
        self.saved_step = self.step

    def train_step(self) -> None:
        """One step: batch, generators, discriminator update, generator update, EMA, then what is due."""
        recipe = self.recipe
        rng = seeded_global_rng(self.noise, self.device) if self.cfg.dropout > 0 else contextlib.nullcontext()
        with rng:
            batch = recipe.batch(self.noise)
            out = recipe.generate(batch)
            record: Dict[str, Tensor] = {}
            if self.opt_d is not None:
                record.update(self._update(self.opt_d, recipe.d_loss(batch, out), "d_loss", None))
            record.update(self._update(self.opt_g, recipe.g_loss(batch, out), "g_loss", self.g_params))
        if self.ema is not None:
            for name, shadow in self.ema.items():
                ema_update(shadow, self.generators[name], self.cfg.ema)
        self.step += 1
        self.pending.append(record)
        self._periodic()

    @staticmethod
    def _update(opt: torch.optim.Optimizer, losses: Dict[str, Tensor], key: str,
                inputs: Optional[List[nn.Parameter]]) -> Dict[str, Tensor]:
        """Minimise ``losses[key]`` by one step of ``opt`` (gradients only into ``inputs`` when given)."""
        opt.zero_grad(set_to_none=True)
        if inputs is None:
            losses[key].backward()
        else:
            torch.autograd.backward(losses[key], inputs=inputs)
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
        """Move the kept losses into the history (one transfer for all the steps since the last flush)."""
        if not self.pending:
            return
        keys = list(self.pending[0])
        values = torch.stack([torch.stack([p[k] for k in keys]) for p in self.pending]).tolist()
        first = self.step - len(self.pending) + 1
        self.history += [{"step": first + i, **dict(zip(keys, row))} for i, row in enumerate(values)]
        self.pending.clear()

    def save(self) -> None:
        """Write the checkpoint atomically, unless there is no run folder or this step's is written."""
        self.flush()
        if self.ckpt_path is None or self.saved_step == self.step:
            return
        self.saved_step = self.step
        atomic_save(self._checkpoint(), self.ckpt_path)

    def _checkpoint(self) -> Dict[str, Any]:
        """Everything a resume needs, as plain data (``weights_only=True`` loads it)."""
        recipe = self.recipe
        record = translator_record(self.cfg.arch, self.generators, self.ema, self.cfg.to_dict())
        record["networks"].update({k: network_spec(d) for k, d in self.discriminators.items()})
        return {**record, "step": self.step,
                "discriminators": {k: d.state_dict() for k, d in self.discriminators.items()},
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict() if self.opt_d else None,
                "pools": {k: p.state_dict() for k, p in recipe.pools.items()},
                "streams": {k: s.state() for k, s in recipe.streams.items()},
                "noise_rng": self.noise.get_state(), "history": self.history, "run": run_identity(self.settings)}

    def grid(self) -> None:
        """The progress grid of this step (with a run folder), from the EMA weights when kept."""
        if self.out_dir is None:
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
                        disable=not progress, unit="step")
        train_to(self, steps, self.bar, resume_hint="resume")
        return self.finish()

    def finish(self) -> TranslationRun:
        """The last log, grid and checkpoint; every network in eval mode."""
        self.flush()
        if self.schedule.steps % self.schedule.sample_every or not self.history:
            self.grid()
        self.save()
        for module in self.recipe.networks().values():
            module.eval()
        return TranslationRun(self.generators, self.discriminators, self.ema, self.cfg, self.step, self.history,
                              self.ckpt_path)


__all__ = ["CHECKPOINT", "RECIPES", "TranslationRun", "TranslationTrainer", "default_features", "train_translation"]
