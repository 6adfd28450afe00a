"""Offline sample-quality metrics in the feature space of a classifier trained on the real data.

"FID-local" and "KID-local" are the Fréchet and kernel inception distances computed with the
penultimate layer of a *local* classifier (by default the shipped Fashion-MNIST CNN) instead of
Inception-v3 on ImageNet: they rank generators of the same data well and need no download, but
their values are not comparable with published (Inception) FID/KID — hence the names. Standard
Inception FID is ``inception_fid``, which needs torch-fidelity and Inception weights on disk.

Also: improved precision and recall (Kynkäänniemi et al. 2019) on k-NN manifolds of the same
features, and per-class counts of generated samples (a mode-collapse diagnostic).
"""
from __future__ import annotations

import os
from typing import List, Dict, Optional, Tuple, Union

import torch
from torch import Tensor, nn

from ..optim.freeze import frozen
from ..optim.taps import tapped

DEFAULT_LAYER = "model.penultimate"


def _check_features(name: str, f: Tensor, min_rows: int = 2) -> Tensor:
    if not isinstance(f, Tensor) or f.dim() != 2:
        raise ValueError(f"{name} must be a 2-D tensor (N, D), got {getattr(f, 'shape', type(f))}")
    if f.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} rows, got {f.shape[0]}")
    if not torch.isfinite(f).all():
        raise ValueError(f"{name} contains NaN or inf")
    return f.double()


class FeatureExtractor:
    """Features of images in [0, 1] at a named layer of a classifier (eval mode, caller's state kept).

    The default, ``FeatureExtractor.default()``, is the 128-d penultimate layer of the shipped
    Fashion-MNIST classifier — a network trained on the real data, as FID-local requires.
    """

    def __init__(self, model: nn.Module, layer: str = DEFAULT_LAYER, batch_size: int = 500):
        self.model, self.layer, self.batch_size = model, layer, batch_size

    @classmethod
    def default(cls, device: Union[str, torch.device] = "cpu") -> "FeatureExtractor":
        from ..models import load_classifier
        from ..models.default import default_checkpoint_path

        return cls(load_classifier(default_checkpoint_path(), device=device))

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @torch.no_grad()
    def features_and_logits(self, images: Tensor) -> Tuple[Tensor, Tensor]:
        if images.dim() != 4:
            raise ValueError(f"images must be (N, C, H, W), got shape {tuple(images.shape)}")
        feats, logits = [], []
        with frozen([self.model]), tapped(self.model, [self.layer]) as store:
            for chunk in images.split(self.batch_size):
                try:
                    logits.append(self.model(chunk.to(self.device)).float().cpu())
                except RuntimeError as exc:
                    raise ValueError(f"the feature classifier cannot take images of shape {tuple(chunk.shape[1:])} "
                                     f"(pass a classifier trained on this data): {str(exc)[:200]}") from None
                feats.append(store[self.layer].flatten(1).float().cpu())
        return torch.cat(feats), torch.cat(logits)

    def __call__(self, images: Tensor) -> Tensor:
        return self.features_and_logits(images)[0]


# --- Fréchet distance -----------------------------------------------------------------------

def _sqrt_psd(m: Tensor) -> Tensor:
    vals, vecs = torch.linalg.eigh((m + m.t()) / 2)
    return (vecs * vals.clamp_min(0).sqrt()) @ vecs.t()


def frechet_distance(f1: Tensor, f2: Tensor) -> float:
    """‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½) between Gaussians fitted to two feature sets (float64).

    No complex matrix square root is needed: Tr((Σ₁Σ₂)^½) is the sum of square roots of the
    eigenvalues of the symmetric PSD matrix Σ₁^½ Σ₂ Σ₁^½ (d × d), or equivalently — and cheaper
    when there are fewer samples than dimensions — the nuclear norm of A₁A₂ᵀ / √((n₁−1)(n₂−1))
    with A the centred features (n₁ × n₂), since Σ₁Σ₂ and that product share their spectrum.
    """
    f1, f2 = _check_features("f1", f1), _check_features("f2", f2)
    if f1.shape[1] != f2.shape[1]:
        raise ValueError(f"feature dimensions differ: {f1.shape[1]} vs {f2.shape[1]}")
    (n1, d), n2 = f1.shape, f2.shape[0]
    mu1, mu2 = f1.mean(0), f2.mean(0)
    a1, a2 = f1 - mu1, f2 - mu2
    traces = a1.pow(2).sum() / (n1 - 1) + a2.pow(2).sum() / (n2 - 1)
    if n1 * n2 < d * d:
        cross = torch.linalg.svdvals(a1 @ a2.t()).sum() / ((n1 - 1) * (n2 - 1)) ** 0.5
    else:
        s1, s2 = a1.t() @ a1 / (n1 - 1), a2.t() @ a2 / (n2 - 1)
        r1 = _sqrt_psd(s1)
        cross = torch.linalg.eigvalsh(r1 @ s2 @ r1).clamp_min(0).sqrt().sum()
    value = (mu1 - mu2).pow(2).sum() + traces - 2 * cross
    return max(float(value), 0.0)


# --- kernel distance (unbiased MMD², Bińkowski et al. 2018) ------------------------------------

def _poly_kernel(a: Tensor, b: Tensor) -> Tensor:
    return (a @ b.t() / a.shape[1] + 1).pow(3)


def mmd2_unbiased(x: Tensor, y: Tensor) -> float:
    """Unbiased MMD² with the cubic polynomial kernel k(a, b) = (aᵀb / d + 1)³ (the KID kernel)."""
    x, y = _check_features("x", x), _check_features("y", y)
    m, n = x.shape[0], y.shape[0]
    kxx, kyy, kxy = _poly_kernel(x, x), _poly_kernel(y, y), _poly_kernel(x, y)
    return float((kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
                 + (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1)) - 2 * kxy.mean())


def kernel_distance(f1: Tensor, f2: Tensor, subsets: int = 100, subset_size: int = 1000,
                    generator: Optional[torch.Generator] = None) -> Tuple[float, float]:
    """(mean, std) of unbiased MMD² over ``subsets`` random subsets of ``subset_size`` (capped at the data)."""
    f1, f2 = _check_features("f1", f1), _check_features("f2", f2)
    if subsets < 1:
        raise ValueError(f"subsets must be ≥ 1, got {subsets}")
    m = min(subset_size, f1.shape[0], f2.shape[0])
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    values = torch.tensor([mmd2_unbiased(f1[torch.randperm(f1.shape[0], generator=gen)[:m]],
                                         f2[torch.randperm(f2.shape[0], generator=gen)[:m]]) for _ in range(subsets)],
                          dtype=torch.float64)
    return float(values.mean()), float(values.std()) if subsets > 1 else 0.0


# --- precision and recall (Kynkäänniemi et al. 2019) -------------------------------------------

def _knn_radii(f: Tensor, k: int, chunk: int) -> Tensor:
    radii = []
    for block in f.split(chunk):
        radii.append(torch.cdist(block, f).kthvalue(k + 1, dim=1).values)  # +1: the point itself at distance 0
    return torch.cat(radii)


def _coverage(points: Tensor, support: Tensor, radii: Tensor, chunk: int) -> float:
    inside = []
    for block in points.split(chunk):
        inside.append((torch.cdist(block, support) <= radii[None, :]).any(1))
    return float(torch.cat(inside).double().mean())


def precision_recall(real_features: Tensor, fake_features: Tensor, k: int = 3, chunk: int = 1024) -> Tuple[float, float]:
    """Precision: share of generated samples inside the real k-NN manifold (union of balls reaching
    each real point's k-th neighbour); recall: share of real samples inside the generated manifold."""
    r = _check_features("real_features", real_features, k + 1)
    f = _check_features("fake_features", fake_features, k + 1)
    if r.shape[1] != f.shape[1]:
        raise ValueError(f"feature dimensions differ: {r.shape[1]} vs {f.shape[1]}")
    if k < 1:
        raise ValueError(f"k must be ≥ 1, got {k}")
    precision = _coverage(f, r, _knn_radii(r, k, chunk), chunk)
    recall = _coverage(r, f, _knn_radii(f, k, chunk), chunk)
    return precision, recall


# --- mode-collapse diagnostic -------------------------------------------------------------------

def class_histogram(logits: Tensor, num_classes: Optional[int] = None) -> Dict[str, object]:
    """Counts of predicted classes, their entropy (nats) and the number of classes ever predicted."""
    num_classes = num_classes or logits.shape[1]
    counts = torch.bincount(logits.argmax(1), minlength=num_classes)
    p = counts.double() / counts.sum().clamp_min(1)
    entropy = float(-(p[p > 0] * p[p > 0].log()).sum())
    return {"counts": counts.tolist(), "entropy": entropy + 0.0, "max_entropy": float(torch.log(torch.tensor(float(num_classes)))),
            "classes_present": int((counts > 0).sum()), "largest_share": float(p.max())}


@torch.no_grad()
def class_counts(classifier: nn.Module, images: Tensor, batch_size: int = 500) -> Dict[str, object]:
    """Per-class counts of ``images`` as labelled by ``classifier`` (its state is restored afterwards)."""
    device = next(classifier.parameters()).device
    with frozen([classifier]):
        logits = torch.cat([classifier(chunk.to(device)).float().cpu() for chunk in images.split(batch_size)])
    return class_histogram(logits)


# --- everything at once --------------------------------------------------------------------------

@torch.no_grad()
def generate(generator: nn.Module, n: int, seed: int = 0, batch_size: int = 500, labels: Optional[Tensor] = None,
             truncation: Optional[float] = None) -> Tensor:
    """``n`` samples in [0, 1] from a generator (eval mode, caller's state kept); conditional
    generators get uniformly drawn labels unless given; ``truncation`` resamples |z| > threshold."""
    from .latent import truncated_latent

    gen = torch.Generator().manual_seed(seed)
    device = next(generator.parameters()).device
    num_classes = getattr(generator, "num_classes", 0)
    if num_classes and labels is None:
        labels = torch.randint(0, num_classes, (n,), generator=gen)
    out = []
    with frozen([generator]):
        for start in range(0, n, batch_size):
            m = min(batch_size, n - start)
            if truncation is not None:
                z = truncated_latent(generator, m, truncation, gen)
            else:
                z = generator.sample_latent(m, gen, device=torch.device("cpu"))
            y = labels[start:start + m].to(device) if num_classes else None
            out.append(generator(z.to(device), y).cpu())
    return torch.cat(out)


def evaluate_samples(real: Tensor, fake: Tensor, extractor: Optional[FeatureExtractor] = None, *,
                     kid_subsets: int = 100, kid_subset_size: int = 1000, k: int = 3, seed: int = 0) -> Dict[str, object]:
    """FID-local, KID-local (mean ± std), precision/recall and class counts of ``fake`` against ``real``."""
    extractor = extractor or FeatureExtractor.default()
    fr, _ = extractor.features_and_logits(real)
    ff, logits = extractor.features_and_logits(fake)
    kid, kid_std = kernel_distance(fr, ff, kid_subsets, kid_subset_size, torch.Generator().manual_seed(seed))
    precision, recall = precision_recall(fr, ff, k)
    return {"fid_local": frechet_distance(fr, ff), "kid_local": kid, "kid_local_std": kid_std,
            "precision": precision, "recall": recall, "classes": class_histogram(logits),
            "num_real": int(real.shape[0]), "num_fake": int(fake.shape[0]), "feature_layer": extractor.layer,
            "warnings": sample_warnings(int(real.shape[0]), int(fake.shape[0]), fr.shape[1], kid_subset_size, k)}


def sample_warnings(num_real: int, num_fake: int, dim: int, kid_subset_size: int, k: int) -> List[str]:
    """Sentences for metrics computed on fewer samples than they need (empty when all is well)."""
    n = min(num_real, num_fake)
    out = []
    if kid_subset_size > n / 2:
        out.append(f"KID subsets of {min(kid_subset_size, n)} drawn from {n} samples overlap "
                   f"{'entirely' if kid_subset_size >= n else 'mostly'}: kid_local_std says nothing about the "
                   f"spread; use at least {2 * kid_subset_size} samples or --kid-subset-size {max(n // 2, 2)}")
    if n < dim:
        out.append(f"FID-local from {n} samples of {dim}-dimensional features: the covariance estimate is "
                   f"singular and the value is biased upward; use at least {dim} samples (better {10 * dim})")
    if k >= n:
        out.append(f"precision/recall with k = {k} neighbours among {n} samples: every sample is in every ball")
    return out


# --- Inception FID through torch-fidelity (optional) ----------------------------------------------

class _Uint8Images(torch.utils.data.Dataset):
    def __init__(self, images: Tensor):
        x = images.clamp(0, 1).mul(255).round().to(torch.uint8)
        self.x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitem__(self, i: int) -> Tensor:
        return self.x[i].contiguous()


def inception_features(images: Tensor, weights_path: Union[str, os.PathLike], device: Union[str, torch.device] = "cpu",
                       batch_size: int = 64, _extractor: Optional[nn.Module] = None) -> Tensor:
    """2048-d Inception-v3 pool features (torch-fidelity's port of the TF graph, its own resize to 299)."""
    extractor = _extractor if _extractor is not None else _inception(weights_path, device)
    data = _Uint8Images(images)
    feats = []
    with torch.no_grad():
        for start in range(0, len(data), batch_size):
            batch = data.x[start:start + batch_size].contiguous().to(device)
            feats.append(extractor(batch)[0].double().cpu())
    return torch.cat(feats)


def _inception(weights_path: Union[str, os.PathLike], device: Union[str, torch.device]) -> nn.Module:
    try:
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    except ImportError:
        raise ImportError("Inception FID needs torch-fidelity: pip install 'robustgan[gan]' (or torch-fidelity), "
                          "and Inception weights on disk; FID-local needs neither") from None
    path = os.fspath(weights_path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Inception weights not found: {path} (torch-fidelity's pt_inception-2015-12-05 "
                                "state dict; this library never downloads them)")
    # torch-fidelity reads the file with weights_only=False: accept only files that are plain data
    try:
        torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"cannot read Inception weights {path} as plain tensors "
                         f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None
    return FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path=path).to(device)


def inception_fid(real: Tensor, fake: Tensor, weights_path: Union[str, os.PathLike],
                  device: Union[str, torch.device] = "cpu", batch_size: int = 64) -> float:
    """Standard FID: Inception-v3 pool features (via torch-fidelity) with weights from a local file.

    ``weights_path`` is torch-fidelity's ``pt_inception-2015-12-05`` state dict. Nothing is
    downloaded: without the package or the file this fails with a message saying what to do.
    Grey images are repeated to three channels; the Fréchet distance is ``frechet_distance``.
    """
    for name, x in (("real", real), ("fake", fake)):
        if not isinstance(x, Tensor) or x.dim() != 4 or x.shape[1] not in (1, 3):
            raise ValueError(f"{name} must be (N, 1 or 3, H, W) images in [0, 1], got {getattr(x, 'shape', type(x))}")
    extractor = _inception(weights_path, device)
    return frechet_distance(inception_features(real, weights_path, device, batch_size, extractor),
                            inception_features(fake, weights_path, device, batch_size, extractor))
