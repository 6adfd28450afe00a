"""A generator's latent as the optimisation variable: x = G(z), for one generator or K of them at once.

GAN inversion (Creswell & Bharath 2016) is the same input optimisation as an attack, with the
variable moved from the pixels to the generator's input. :class:`Latent` maps every row through
one generator; :class:`Latents` holds K generators and maps each *sample* to one of them, so a
single batched run inverts a batch of images under several generators (restarts × generators ×
images as rows). Both set ``keep_variable``, so :func:`~robustgan.optim.optimize` returns the kept
latent per sample in ``OptimizeResult.variable`` beside the image ``G(z)`` in ``x``.
:class:`ConditionalLatent` moves the latent of a class-conditional generator with each sample's
class held fixed (latent-space adversarial examples).
"""
from __future__ import annotations

from typing import Iterable, List, Sequence

import torch
from torch import Tensor, nn

from .parametrizations import Parametrization


def _latent_dim(g: nn.Module, name: str, conditional: bool = False) -> int:
    """The generator's latent size, checked to be the kind of generator the parametrisation maps
    through (class-conditional or not)."""
    if not isinstance(g, nn.Module):
        raise TypeError(f"{name} must be an nn.Module (a generator), got {type(g).__name__}")
    d = getattr(g, "latent_dim", None)
    if not isinstance(d, int) or d <= 0:
        raise ValueError(f"{name} needs a positive integer attribute latent_dim, got {d!r}")
    has_classes = bool(getattr(g, "num_classes", 0))
    if has_classes and not conditional:
        raise ValueError(f"{name} is class-conditional; inversion here covers unconditional generators")
    if conditional and not has_classes:
        raise ValueError(f"{name} is unconditional; use Latent (or Latents) for it")
    return d


def _check_latent(w: Tensor, dim: int) -> None:
    if w.dim() != 2 or w.shape[1] != dim:
        raise ValueError(f"the latent variable must have shape (rows, {dim}), got {tuple(w.shape)}")


def _sample_indices(values: Tensor, count: int, name: str, meaning: str, subject: str) -> Tensor:
    """One index in [0, count) per sample (a generator, a class), as a long tensor."""
    if not isinstance(values, Tensor) or values.dim() != 1 or values.is_floating_point():
        raise TypeError(f"{name} must be a 1-D integer tensor: {meaning}")
    if values.numel() and not (0 <= int(values.min()) and int(values.max()) < count):
        raise ValueError(f"{subject} must lie in [0, {count})")
    return values.long()


class _LatentVariable(Parametrization):
    """The variable is a latent of shape (rows, latent_dim), returned with the result."""

    keep_variable = True
    latent_dim: int

    def to_variable(self, x: Tensor) -> Tensor:
        _check_latent(x, self.latent_dim)
        return x


class _PerSampleLatent(_LatentVariable):
    """A latent whose map depends on the row's sample: ``per_sample`` holds one entry per sample."""

    per_sample_role: str  # what the entry is, for the error message

    @property
    def per_sample(self) -> Tensor:
        raise NotImplementedError

    def to_input(self, w: Tensor) -> Tensor:
        """Without sample ids the rows must be the samples themselves, in order."""
        if w.shape[0] != self.per_sample.shape[0]:
            raise ValueError(f"{type(self).__name__} {self.per_sample_role}: the optimiser passes the rows' "
                             "samples through to_input_for; to_input alone needs one row per sample")
        return self.to_input_for(w, torch.arange(w.shape[0], device=w.device))


class Latent(_LatentVariable):
    """x = G(z): the variable is the latent ``z`` (rows, latent_dim) of one generator.

    ``to_variable`` takes starting *latents* (the loop's ``start``/``init`` give latents; the
    images to match go in as ``origin``). The generator is frozen and handed back as it was.
    """

    def __init__(self, generator: nn.Module):
        self.latent_dim = _latent_dim(generator, "generator")
        self.generator = generator

    def to_input(self, w: Tensor) -> Tensor:
        return self.generator(w)

    def modules(self) -> Iterable[nn.Module]:
        return (self.generator,)


class Latents(_PerSampleLatent):
    """x = G_{k(s)}(z): K generators, sample ``s`` inverted under generator ``assignment[s]``.

    The variable is (rows, D) with D the largest latent size; a generator with a smaller latent
    reads the first entries of its rows. All generators must make images of the same shape.
    Rows of one sample share its generator, so restarts of a sample stay on the same generator.
    """

    per_sample_role = "maps samples to generators"

    def __init__(self, generators: Sequence[nn.Module], assignment: Tensor):
        if isinstance(generators, nn.Module) or len(generators) == 0:
            raise TypeError("generators must be a non-empty sequence of generator modules")
        self.dims: List[int] = [_latent_dim(g, f"generators[{i}]") for i, g in enumerate(generators)]
        self.generators = list(generators)
        self.latent_dim = max(self.dims)
        self.assignment = _sample_indices(assignment, len(generators), "assignment",
                                          "the generator of each sample", "assignment values")

    @property
    def per_sample(self) -> Tensor:
        return self.assignment

    def to_input_for(self, w: Tensor, samples: Tensor) -> Tensor:
        _check_latent(w, self.latent_dim)
        which = self.assignment.to(samples.device)[samples]
        out = None
        for k, g in enumerate(self.generators):
            rows = (which == k).nonzero().squeeze(1)
            if rows.numel() == 0:
                continue
            x = g(w[rows, : self.dims[k]])
            if out is None:
                out = x.new_zeros((w.shape[0], *x.shape[1:]))
            elif x.shape[1:] != out.shape[1:]:
                raise ValueError(f"generators make images of different shapes: {tuple(out.shape[1:])} vs {tuple(x.shape[1:])}")
            out = out.index_put((rows,), x)
        if out is None:
            raise ValueError("no rows to map")
        return out

    def modules(self) -> Iterable[nn.Module]:
        return tuple(self.generators)


class ConditionalLatent(_PerSampleLatent):
    """x = G(z, y_s): the latent of a class-conditional generator, sample ``s`` drawn as class ``labels[s]``.

    The class is fixed per sample (restarts of a sample share it) and only ``z`` moves: what
    latent-space (generative) adversarial examples search over (Song et al. 2018).
    """

    per_sample_role = "has one class per sample"

    def __init__(self, generator: nn.Module, labels: Tensor):
        self.latent_dim = _latent_dim(generator, "generator", conditional=True)
        self.generator = generator
        self.labels = _sample_indices(labels, int(generator.num_classes), "labels", "the class of each sample",
                                      "labels")

    @property
    def per_sample(self) -> Tensor:
        return self.labels

    def to_input_for(self, w: Tensor, samples: Tensor) -> Tensor:
        _check_latent(w, self.latent_dim)
        return self.generator(w, self.labels.to(w.device)[samples])

    def modules(self) -> Iterable[nn.Module]:
        return (self.generator,)
