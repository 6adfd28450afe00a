"""Training the feed-forward style network: Adam on T's weights against the perceptual objective.

Every step draws a batch of content images (from one seeded ``torch.Generator``), stylises it and
minimises α·content + β·style (Johnson et al. 2016), as :func:`~.style.style_transfer` would for
one image. With ``checkpoint``, the network, the optimiser, the batch generator, the step and the
history are written atomically every ``checkpoint_every`` steps and at the end, so ``resume=True``
continues the run bit for bit on CPU.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import torch
from torch import Tensor
from tqdm.auto import tqdm

from ..models.checkpoint import atomic_save, safe_load
from ..validation import check_images
from .feature_nets import DEFAULT_NETWORK
from .style_network import StyleObjective, TransformNet, default_style_image
from .texture import Network

FORMAT = "robustgan-style-network/1"


@dataclass
class StyleNetworkRun:
    """The trained transformation network, its objective and the loss history (one dict per step)."""

    net: TransformNet
    objective: StyleObjective
    step: int
    history: List[Dict[str, float]] = field(default_factory=list)


def _settings(**kw: Any) -> Dict[str, Any]:
    """What identifies a run (a resume must match it): plain values only."""
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in kw.items()}


def train_style_network(content: Tensor, style: Optional[Tensor] = None, *, steps: int = 200, batch_size: int = 16,
                        lr: float = 1e-3, width: int = 16, blocks: int = 3, network: Network = DEFAULT_NETWORK,
                        style_layers: Optional[Sequence[str]] = None, content_layers: Optional[Sequence[str]] = None,
                        content_weight: float = 1.0, style_weight: float = 10.0, seed: int = 0,
                        checkpoint: Optional[Union[str, os.PathLike]] = None, checkpoint_every: int = 50,
                        resume: bool = False, progress: bool = True) -> StyleNetworkRun:
    """Train T on ``content`` images (N, C, H, W) in [0, 1] (e.g. Fashion-MNIST) for the style of
    ``style`` (one image; default: ``robustgan style``'s default style image) to ``steps`` steps."""
    check_images(content, "content")
    if steps < 0 or batch_size < 1 or checkpoint_every < 1 or not lr > 0:
        raise ValueError("steps must be >= 0, batch_size and checkpoint_every >= 1, lr > 0")
    style = default_style_image() if style is None else (style.unsqueeze(0) if style.dim() == 3 else style)
    check_images(style, "style")
    device = content.device
    objective = StyleObjective(style, content.shape[1], network=network, style_layers=style_layers,
                               content_layers=content_layers, content_weight=content_weight,
                               style_weight=style_weight, seed=seed, device=device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = TransformNet(content.shape[1], width, blocks).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    batches = torch.Generator().manual_seed(seed)
    settings = _settings(lr=lr, batch_size=batch_size, width=width, blocks=blocks, network=str(network),
                         style_layers=objective.style_layers, content_layers=objective.content_layers,
                         content_weight=content_weight, style_weight=style_weight, seed=seed,
                         images=list(content.shape))
    run = StyleNetworkRun(net, objective, 0)
    if resume:
        _restore(checkpoint, settings, run, opt, batches, device)
    bar = tqdm(total=steps, initial=min(run.step, steps), desc="style network", disable=not progress, unit="step")
    net.train()
    while run.step < steps:
        idx = torch.randint(0, content.shape[0], (batch_size,), generator=batches).to(device)
        c_loss, s_loss = objective.terms(net(content[idx]), content[idx])
        loss = (content_weight * c_loss + style_weight * s_loss).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        run.step += 1
        run.history.append({"step": run.step, "loss": float(loss.detach()),
                            "content": float(c_loss.detach().mean()), "style": float(s_loss.detach().mean())})
        bar.update(1)
        bar.set_postfix(loss=f"{run.history[-1]['loss']:.4g}")
        if checkpoint is not None and (run.step % checkpoint_every == 0 or run.step == steps):
            _save(checkpoint, settings, run, opt, batches)
    bar.close()
    net.eval()
    return run


def _save(path, settings: Dict[str, Any], run: StyleNetworkRun, opt, batches: torch.Generator) -> None:
    atomic_save({"format": FORMAT, "settings": settings, "config": run.net.config(), "net": run.net.state_dict(),
                 "optimizer": opt.state_dict(), "batches": batches.get_state(), "step": run.step,
                 "history": run.history}, path)


def _read(path, device) -> Dict[str, Any]:
    """A style-network checkpoint (``weights_only=True``), checked for the format tag."""
    state = safe_load(path, map_location=device)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path} is not a style-network checkpoint (expected format {FORMAT!r})")
    return state


def _restore(path, settings: Dict[str, Any], run: StyleNetworkRun, opt, batches: torch.Generator, device) -> None:
    """Continue the checkpoint's run; refuse one written with other settings."""
    if path is None or not Path(path).exists():
        raise FileNotFoundError(f"resume requested but no checkpoint at {path}")
    state = _read(path, device)
    differ = sorted(k for k in set(settings) | set(state["settings"]) if settings.get(k) != state["settings"].get(k))
    if differ:
        raise ValueError(f"cannot resume {path}: settings differ from the run that wrote it: {', '.join(differ)}")
    run.net.load_state_dict(state["net"])
    opt.load_state_dict(state["optimizer"])
    batches.set_state(state["batches"].cpu())
    run.step, run.history = int(state["step"]), list(state["history"])


def load_style_network(path: Union[str, os.PathLike], device: Union[str, torch.device] = "cpu") -> TransformNet:
    """The trained transformation network of a checkpoint, in eval mode."""
    state = _read(path, device)
    net = TransformNet(**state["config"])
    net.load_state_dict(state["net"])
    return net.to(device).eval()
