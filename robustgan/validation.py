"""Early, clear errors for bad inputs, so nothing fails deep inside torch."""
from __future__ import annotations

import math
import numbers
import operator
from typing import Optional, Union

import torch
from torch import Tensor, nn


def check_images(x, name: str = "images", lo: float = 0.0, hi: float = 1.0) -> Tensor:
    """An image batch (N, C, H, W): finite floats inside [lo, hi]."""
    return check_batch(x, name, lo, hi, dims=4)


def check_batch(x, name: str, lo: Optional[float] = None, hi: Optional[float] = None,
                dims: Optional[int] = None) -> Tensor:
    """A non-empty float batch (N, ...) of finite values, inside [lo, hi] where bounds are given.

    ``dims=4`` demands images (N, C, H, W); without it any batch of two or more dimensions
    passes, as the optimiser also moves latents and feature vectors."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        where = "" if lo is None or hi is None else f" with values in [{lo}, {hi}]"
        raise TypeError(f"{name} must be a float tensor{where}, got dtype {x.dtype}")
    if dims is not None and x.dim() != dims:
        layout = "(N, C, H, W)" if dims == 4 else f"{dims} dimensions"
        raise ValueError(f"{name} must have shape {layout}, got {tuple(x.shape)}")
    if x.dim() < 2:
        raise ValueError(f"{name} must be a batch (N, ...), got shape {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch")
    if not bool(torch.isfinite(x).all()):
        bad = int((~torch.isfinite(x)).sum())
        raise ValueError(f"{name} must be finite, found {bad} NaN or infinite value(s)")
    if lo is not None and hi is not None and x.numel():
        xmin, xmax = float(x.detach().min()), float(x.detach().max())
        if xmin < lo - 1e-6 or xmax > hi + 1e-6:
            raise ValueError(f"{name} must lie in [{lo:g}, {hi:g}] (normalisation belongs inside the model); "
                             f"found values in [{xmin:.4g}, {xmax:.4g}]")
    return x


def _weights_dtype(modules) -> Optional[torch.dtype]:
    for module in modules:
        for t in (*module.parameters(), *module.buffers()):
            if t.is_floating_point():
                return t.dtype
    return None


def check_dtype(x: Tensor, modules, name: str = "images") -> Tensor:
    """Fail at the door, not inside a matmul: half precision on CPU, or a dtype the weights don't share."""
    if x.dtype in (torch.float16, torch.bfloat16) and x.device.type == "cpu":
        raise TypeError(f"{name}: dtype {x.dtype} is not supported on CPU; pass {name}.float() "
                        "(and a float32 model)")
    weights = _weights_dtype(modules)
    if weights is not None and weights != x.dtype:
        raise TypeError(f"{name}: dtype {x.dtype} does not match the model's weights ({weights}); "
                        f"cast with {name}.to({weights}) or the model with model.to({x.dtype})")
    return x


def check_labels(y, n: int, num_classes: int, name: str = "labels") -> Tensor:
    if not isinstance(y, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of class indices, got {type(y).__name__}")
    if y.is_floating_point() or y.dtype == torch.bool:
        raise TypeError(f"{name} must be integer class indices, got dtype {y.dtype}")
    if y.dim() != 1 or y.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},) to match the images, got {tuple(y.shape)}")
    if n and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise ValueError(f"{name} must lie in [0, {num_classes - 1}] for a {num_classes}-class model; "
                         f"found {int(y.min())}..{int(y.max())}")
    return y.long()


def check_eps(eps: Union[float, Tensor], n: int, name: str = "eps") -> Union[float, Tensor]:
    if isinstance(eps, Tensor):
        if eps.dim() > 1 or (eps.dim() == 1 and eps.shape[0] != n):
            raise ValueError(f"{name} must be a scalar or have shape ({n},), got {tuple(eps.shape)}")
        if not bool(torch.isfinite(eps).all()) or bool((eps < 0).any()):
            raise ValueError(f"{name} must be finite and >= 0")
        return eps.float()
    if isinstance(eps, (str, bytes, bool)):
        raise TypeError(f"{name} must be a number or a tensor, got {type(eps).__name__}")
    try:
        value = float(eps)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or a tensor, got {type(eps).__name__}") from None
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"{name} must be finite and >= 0, got {eps}")
    return value


def check_positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def check_number(value, name: str, *, above: Optional[float] = None, at_least: Optional[float] = None,
                 below: Optional[float] = None, at_most: Optional[float] = None) -> float:
    """A finite real hyper-parameter inside the given bounds (``above``/``below`` are strict)."""
    scalar_tensor = isinstance(value, Tensor) and value.numel() == 1
    if isinstance(value, bool) or not (isinstance(value, numbers.Real) or scalar_tensor):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    v = float(value)
    bounds = [(b, sign, test) for b, sign, test in ((above, ">", operator.gt), (at_least, ">=", operator.ge),
              (below, "<", operator.lt), (at_most, "<=", operator.le)) if b is not None]
    if not math.isfinite(v) or not all(test(v, b) for b, _, test in bounds):
        wanted = "".join(f" and {sign} {b:g}" for b, sign, _ in bounds)
        raise ValueError(f"{name} must be finite{wanted}, got {value!r}")
    return v


def check_step_size(value: Union[float, Tensor], n: int, eps: Union[None, float, Tensor] = None,
                    name: str = "step_size") -> Union[float, Tensor]:
    """A step size: a number or one value per sample, finite and > 0 (a zero step never moves);
    0 passes only where the radius ``eps`` is 0 too, since nothing may move there anyway."""
    value = check_eps(value, n, name)
    zero = torch.as_tensor(value).cpu() <= 0
    if eps is not None:
        zero = zero & (torch.as_tensor(eps).cpu() > 0)
    if bool(zero.any()):
        raise ValueError(f"{name} must be > 0, got {value}")
    return value


def check_logits(out, name: str = "the model") -> Tensor:
    """Model outputs: a tensor of class scores (N, classes)."""
    if not isinstance(out, Tensor):
        raise TypeError(f"{name} must return a tensor of logits, got {type(out).__name__} "
                        "(wrap it so that forward returns only the logits)")
    if out.dim() != 2:
        raise ValueError(f"{name} must return logits of shape (N, classes), got {tuple(out.shape)}")
    return out


def first_line(exc: BaseException, limit: int = 200) -> str:
    """``Type: first line of the message`` of an exception, for one-sentence errors: many carry
    an empty or multi-line message (``str(exc).splitlines()[0]`` of an empty one raises itself)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:limit]}" if lines else type(exc).__name__


def run_model(model: nn.Module, x: Tensor, name: str = "images"):
    """``model(x)``, where a model that cannot take ``x`` (its shape, channels or dtype) fails with a
    sentence naming ``name`` instead of a traceback from a layer deep inside it."""
    try:
        return model(x)
    except torch.cuda.OutOfMemoryError:
        raise
    except RuntimeError as exc:
        raise ValueError(f"the model cannot run on {name} of shape {tuple(x.shape)} and dtype {x.dtype}: "
                         f"{first_line(exc)}") from exc


@torch.no_grad()
def clean_logits(model: nn.Module, x: Tensor) -> Tensor:
    """The model's logits on ``x`` (model state left as it was); non-finite ones fail here, since
    the argmax of NaN is arbitrary and every later success test would read noise."""
    from .optim.freeze import frozen

    with frozen([model]):
        out = check_logits(run_model(model, x))
    bad = ~torch.isfinite(out).all(dim=1)
    if bool(bad.any()):
        raise ValueError(f"the model returns NaN or infinite logits on {int(bad.sum())} of the {x.shape[0]} "
                         "clean inputs; fix the model (or drop those inputs) before attacking it")
    return out


def num_classes_of(model: nn.Module, x: Tensor) -> int:
    """Classes the model predicts, from one forward of one example (model state left as it was)."""
    return clean_logits(model, x[:1]).shape[1]


def declared_channels(model: nn.Module) -> Optional[int]:
    """The input channels the model's normalisation declares (a per-channel ``mean`` buffer of shape
    (1, C, 1, 1), as in :class:`robustgan.models.Normalized`), None when it declares none.

    Needed because ``(x - mean) / std`` *broadcasts*: a 3-channel model runs on grey images without
    an error, on three copies of the grey channel, and its numbers mean nothing."""
    for module in model.modules():
        buffers = dict(module.named_buffers(recurse=False))
        mean, std = buffers.get("mean"), buffers.get("std")
        if mean is not None and std is not None and mean.dim() == 4 and mean.shape[0] == 1 \
                and mean.shape[2:] == (1, 1):
            return int(mean.shape[1])
    return None


def declared_image_size(model: nn.Module) -> Optional[int]:
    """The image side a part of the model was built for (an int ``image_size`` attribute, as
    :class:`robustgan.models.SmallCNN` records), None when none says. Checked because a model built
    for 28 px still runs on 29–31 px images (the pooled side rounds down to the same width)."""
    for module in model.modules():
        size = getattr(module, "image_size", None)
        if isinstance(size, int) and not isinstance(size, bool):
            return size
    return None


def check_model_fits_data(model: nn.Module, x: Tensor, num_classes: int, data: str = "the data") -> int:
    """Refuse, before anything is attacked, a model that does not fit the data it is run on; return
    its number of outputs. ``x``: some of the images (N, C, H, W); ``num_classes``: the dataset's
    classes; ``data``: what to call the dataset in the message.

    Checked: channels (a normalisation that would broadcast), image size (where the model records
    one), and the output width. Too few outputs: some labels can never be predicted. More outputs
    than classes is refused too: the labels would be read as the model's first ``num_classes``
    classes, right only by accident (an image folder numbers its sub-folders 0..n-1 in
    alphabetical order, whatever the model was trained on); evaluate such a model on data with its
    own classes, or wrap it to keep the outputs that match."""
    check_images(x[:1], "images")
    channels, side = int(x.shape[1]), tuple(int(s) for s in x.shape[-2:])
    wanted = declared_channels(model)
    if wanted is not None and wanted != channels:
        raise ValueError(f"the model takes {wanted}-channel images but {data} has {channels}-channel ones; "
                         f"use a model trained on {data} (or convert the images to {wanted} channel(s))")
    size = declared_image_size(model)
    if size is not None and side != (size, size):
        raise ValueError(f"the model was built for {size}×{size} images but {data} holds "
                         f"{side[0]}×{side[1]} ones; resize the images or use a model built for them")
    outputs = num_classes_of(model, x)
    if outputs < num_classes:
        raise ValueError(f"the model has {outputs} outputs but {data} has {num_classes} classes: labels "
                         f"{outputs}..{num_classes - 1} could never be predicted; use a {num_classes}-class model")
    if outputs > num_classes:
        raise ValueError(f"the model has {outputs} outputs but {data} has only {num_classes} classes: its labels "
                         f"would be read as the model's first {num_classes} classes, right only by accident; "
                         f"use data with the model's {outputs} classes")
    return outputs
