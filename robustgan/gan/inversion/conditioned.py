"""An image-conditioned generator's source as the optimisation variable: y = G_{k(s)}(x), K generators at once.

Image-to-image generators (pix2pix from an edge map, SRGAN from a low-resolution image, …) are
inverted exactly like latent generators, with the source image in place of z.
:class:`Sources` is :class:`~robustgan.optim.latent.Latents` over flattened sources: the variable
is (rows, D) with D the largest source size, and generator k reads the first P_k entries of its
rows, reshaped to its source shape, so generators whose sources differ in shape share one run.
:class:`SourceTerm` adds a per-row term computed on each row's source in its own shape (a TV prior,
a consistency term with the image).
"""
from __future__ import annotations

import math
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from ...objectives import Objective
from ...objectives.priors import total_variation
from ...optim.latent import Latents

Shape = Tuple[int, ...]
# term(sources of some rows (r, *source_shape), the images those rows reconstruct (r, C, H, W)) -> (r,)
SourceFn = Callable[[Tensor, Tensor], Tensor]


def check_shape(shape, name: str) -> Shape:
    """A source shape: a non-empty tuple of positive integers, such as (C, H, W)."""
    try:
        out = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a tuple of positive integers such as (1, 14, 14), got {shape!r}") from None
    if not out or any(d <= 0 for d in out) or any(float(a) != float(b) for a, b in zip(out, shape)):
        raise ValueError(f"{name} must be a tuple of positive integers such as (1, 14, 14), got {shape!r}")
    return out


def source_shape_of(generator: nn.Module, given: Optional[Sequence[int]] = None, name: str = "generator") -> Shape:
    """The shape of one source of ``generator``: ``given`` if not None, else its attribute ``source_shape``."""
    if not isinstance(generator, nn.Module):
        raise TypeError(f"{name} must be an nn.Module (an image-conditioned generator), got {type(generator).__name__}")
    shape = given if given is not None else getattr(generator, "source_shape", None)
    if shape is None:
        raise ValueError(f"{name} has no attribute source_shape: give its source shape, e.g. (1, 14, 14)")
    return check_shape(shape, f"the source shape of {name}")


class _Flat(nn.Module):
    """G reading flat source rows (rows, P): what lets Latents route rows to generators of any source shape."""

    def __init__(self, generator: nn.Module, shape: Shape):
        super().__init__()
        self.generator, self.shape, self.latent_dim = generator, shape, math.prod(shape)

    def forward(self, v: Tensor) -> Tensor:
        return self.generator(v.reshape(v.shape[0], *self.shape))


class Sources(Latents):
    """y = G_{k(s)}(x): sample ``s`` is inverted under generator ``assignment[s]``; the variable is its
    flattened source (rows, D), D the largest source size (a smaller source uses the first entries).

    Starting points are flat rows too (:meth:`flatten` builds them). The generators are frozen
    during the run and handed back as they were.
    """

    def __init__(self, generators: Sequence[nn.Module], assignment: Tensor, shapes: Sequence[Sequence[int]]):
        if isinstance(generators, nn.Module) or len(generators) == 0 or len(shapes) != len(generators):
            raise TypeError("Sources needs a non-empty sequence of generators and one source shape for each")
        self.shapes: List[Shape] = [check_shape(s, f"shapes[{i}]") for i, s in enumerate(shapes)]
        super().__init__([_Flat(g, s) for g, s in zip(generators, self.shapes)], assignment)

    def unflatten(self, w: Tensor, k: int) -> Tensor:
        """Rows of the variable as generator k's sources (rows, *shape_k)."""
        return w[:, : self.dims[k]].reshape(w.shape[0], *self.shapes[k])

    def flatten(self, x: Tensor, k: int, fill: Optional[Tensor] = None) -> Tensor:
        """Generator k's sources (rows, *shape_k) as rows of the variable; the unused tail from ``fill``
        (rows, D) or zeros."""
        if tuple(x.shape[1:]) != self.shapes[k]:
            raise ValueError(f"sources of generator {k} must have shape (rows, {', '.join(map(str, self.shapes[k]))}), "
                             f"got {tuple(x.shape)}")
        out = x.new_zeros(x.shape[0], self.latent_dim) if fill is None else fill.clone()
        out[:, : self.dims[k]] = x.reshape(x.shape[0], -1)
        return out

    def groups(self, w: Tensor, samples: Tensor) -> Iterator[Tuple[int, Tensor, Tensor]]:
        """(k, row indices, those rows' sources in generator k's shape) for each generator with rows."""
        which = self.assignment.to(samples.device)[samples]
        for k in range(len(self.generators)):
            rows = (which == k).nonzero().squeeze(1)
            if rows.numel():
                yield k, rows, self.unflatten(w[rows], k)


class SourceTerm(Objective):
    """``fns[k](sources, images)`` on the rows of generator k, in its source shape (None: no term for k).

    ``images`` are the images the rows reconstruct (``ev.origin``), for terms that compare the
    source with them (edge consistency, agreement with a downsampled image).
    """

    def __init__(self, param: Sources, fns: Sequence[Optional[SourceFn]], name: str = "source term"):
        if len(fns) != len(param.generators):
            raise ValueError(f"{len(param.generators)} generators but {len(fns)} source terms")
        self.param, self.fns, self.name = param, list(fns), name

    def __call__(self, ev) -> Tensor:
        out = ev.variable.new_zeros(ev.variable.shape[0])
        for k, rows, x in self.param.groups(ev.variable, ev.samples):
            if self.fns[k] is not None:
                value = self.fns[k](x, ev.origin[rows])
                if not isinstance(value, Tensor) or value.shape != (rows.numel(),):
                    raise ValueError(f"the {self.name} of generator {k} must return one value per row "
                                     f"({rows.numel()}), got {getattr(value, 'shape', type(value).__name__)}")
                out = out.index_put((rows,), value.to(out.dtype))
        return out

    def __repr__(self) -> str:
        return self.name


def source_tv(x: Tensor, _images: Optional[Tensor] = None) -> Tensor:
    """TV² of each source per source pixel (a piecewise-smooth prior on the source domain, size-free)."""
    if x.dim() != 4:
        raise ValueError(f"a TV prior needs image sources (C, H, W), got rows of shape {tuple(x.shape[1:])}")
    return total_variation(x) / x[0].numel()


def operator_consistency(operator: Callable[[Tensor], Tensor]) -> SourceFn:
    """The term ‖x − A(y)‖²/P′: the source stays near what ``operator`` A makes of the image (an edge
    map, a bicubic downsample), for :func:`~.source.invert_sources`'s ``source_term``."""

    def term(x: Tensor, images: Tensor) -> Tensor:
        with torch.no_grad():
            target = operator(images)
        if target.shape != x.shape:
            raise ValueError(f"the operator maps images to {tuple(target.shape[1:])}, "
                             f"the sources are {tuple(x.shape[1:])}")
        return (x - target).reshape(x.shape[0], -1).pow(2).mean(dim=1)

    return term


def round_trip(generator: nn.Module, back: Callable[[Tensor], Tensor]) -> SourceFn:
    """The term ‖x − B(G(x))‖²/P′: the source is a fixed point of the task's way back B from images to
    sources (SRGAN: the area downsample, pix2pix: a (soft) edge detector, CycleGAN G_ab: G_ba), i.e.
    it lies in the domain the generator was trained on; for :func:`~.source.invert_sources`'s
    ``source_term``. Unlike :func:`operator_consistency` it reads the current reconstruction G(x),
    not the image being inverted, so it constrains the source, not the fit."""

    def term(x: Tensor, _images: Optional[Tensor] = None) -> Tensor:
        back_x = back(generator(x))
        if back_x.shape != x.shape:
            raise ValueError(f"the way back maps reconstructions to {tuple(back_x.shape[1:])}, "
                             f"the sources are {tuple(x.shape[1:])}")
        return (x - back_x).reshape(x.shape[0], -1).pow(2).mean(dim=1)

    return term
