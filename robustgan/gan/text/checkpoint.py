"""Loading a trained GAN-CLS generator and its caption encoder back (``weights_only=True``)."""
from __future__ import annotations

import os
from typing import Any, Dict, NamedTuple, Union

import torch

from ..build import load_checkpoint
from .config import TextSettings
from .encoder import TextEncoder, freeze
from .models import KIND, TextGenerator


class TextSampler(NamedTuple):
    """What sampling needs: the generator, the frozen encoder and the run's text settings."""

    generator: TextGenerator
    encoder: TextEncoder
    settings: TextSettings


def is_text_checkpoint(state: Dict[str, Any]) -> bool:
    return isinstance(state.get("text"), dict) and (state.get("generator_kwargs") or {}).get("kind") == KIND


def load_text_sampler(path: Union[str, os.PathLike], ema: bool = True,
                      device: Union[str, torch.device] = "cpu") -> TextSampler:
    """The generator (EMA weights when kept and ``ema``) and encoder of a gan-cls checkpoint, in eval mode."""
    state = load_checkpoint(path)
    if not is_text_checkpoint(state):
        raise ValueError(f"{path} is not a text-to-image (gan train --arch gan-cls) checkpoint")
    kwargs = {k: v for k, v in state["generator_kwargs"].items() if k != "kind"}
    g = TextGenerator(**kwargs)
    weights = state["generator_ema"] if ema and state.get("generator_ema") is not None else state["generator"]
    g.load_state_dict(weights)
    enc = TextEncoder(**state["text"]["encoder_kwargs"])
    enc.load_state_dict(state["text"]["encoder"])
    settings = TextSettings.from_dict(state["text"]["settings"])
    return TextSampler(g.to(device).eval(), freeze(enc.to(device)), settings)
