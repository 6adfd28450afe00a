"""torchattacks' front over robustgan's attacks: same class names, argument names and call.

A script written for torchattacks switches by changing one import::

    import robustgan.compat.torchattacks as torchattacks
    atk = torchattacks.PGD(model, eps=8/255, alpha=2/255, steps=10)
    adv_images = atk(images, labels)

Each class is a thin wrapper that maps torchattacks' arguments onto one function of
:mod:`attacks` (no second implementation), so it inherits robustgan's behaviour: the model's
mode, gradients and buffers are left as they were, iterates are exact projections onto the ball
and the box, and PGD keeps per image a fooling iterate when any step found one (torchattacks
returns the last iterate; this is never weaker). The targeting modes (``set_mode_targeted_*``),
``set_normalization_used``, ``save`` and ``MultiAttack`` behave as torchattacks documents them.
Arguments whose torchattacks value has no counterpart here are accepted at their default and
refused otherwise, with a sentence, rather than silently ignored. Randomness follows torchattacks
too: PGD and the transfer attacks draw from torch's global RNG (``seed=None``), so
``torch.manual_seed`` governs them and each call draws new starts; APGD and Square take ``seed``.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence

import torch
from torch import Tensor, nn

import attacks as zoo
from ..models.normalized import Normalized
from ..optim.freeze import frozen

_NORMS = {"Linf": "linf", "L2": "l2", "L1": "l1"}


def _norm(norm: str) -> str:
    if norm not in _NORMS:
        raise ValueError(f"norm must be one of {sorted(_NORMS)} (torchattacks' spelling), got {norm!r}")
    return _NORMS[norm]


def _only_default(name: str, value, default) -> None:
    if value != default:
        raise ValueError(f"{name}={value!r} has no counterpart in robustgan's version of this attack; "
                         f"leave it at {default!r}")


class Attack:
    """torchattacks' ``Attack``: ``atk(images, labels)`` returns adversarial images in [0, 1]."""

    supports_targeted = False

    def __init__(self, name: str, model: nn.Module):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        self.attack, self.model, self._given_model = name, model, model
        self._target_fn: Optional[Callable[[Tensor, Tensor], Tensor]] = None
        self._by_label = False
        self.targeted = False

    # ---- torchattacks' modes -----------------------------------------------------------------
    def set_normalization_used(self, mean: Sequence[float], std: Sequence[float]) -> None:
        """The model takes normalised inputs: attack images in [0, 1], normalise inside."""
        self.model = Normalized(self._given_model, mean, std)

    def set_mode_default(self) -> None:
        self.targeted, self._target_fn, self._by_label = False, None, False

    def _targeted(self) -> None:
        if not self.supports_targeted:
            raise ValueError(f"{self.attack} is untargeted here (its targeted version is its own class)")
        self.targeted, self._by_label, self._target_fn = True, False, None

    def set_mode_targeted_by_function(self, target_map_function: Callable[[Tensor, Tensor], Tensor],
                                      quiet: bool = False) -> None:
        self._targeted()
        self._target_fn = target_map_function

    def set_mode_targeted_by_label(self, quiet: bool = False) -> None:
        """``atk(images, target_labels)``: the labels given are the targets."""
        self._targeted()
        self._by_label = True

    def set_mode_targeted_random(self, quiet: bool = False) -> None:
        self._targeted()

        def random_other(images: Tensor, labels: Tensor) -> Tensor:
            classes = self._logits(images).shape[1]
            shift = torch.randint(1, classes, labels.shape, device=labels.device)
            return (labels + shift) % classes
        self._target_fn = random_other

    def set_mode_targeted_least_likely(self, kth_min: int = 1, quiet: bool = False) -> None:
        self._targeted()
        self._target_fn = lambda images, labels: self._logits(images).argsort(dim=1)[:, kth_min - 1]

    def get_target_label(self, images: Tensor, labels: Tensor) -> Tensor:
        return labels if self._by_label else self._target_fn(images, labels)

    @torch.no_grad()
    def _logits(self, images: Tensor) -> Tensor:
        with frozen([self.model]):
            return self.model(images)

    # ---- the call ----------------------------------------------------------------------------
    def __call__(self, images: Tensor, labels: Tensor) -> Tensor:
        return self.forward(images, labels)

    def forward(self, images: Tensor, labels: Tensor) -> Tensor:
        device = next((p.device for p in self.model.parameters()), images.device)
        images, labels = images.to(device), labels.to(device)
        if not self.targeted:
            return self.run(images, labels, None).x
        target = self.get_target_label(images, labels)
        y = self._logits(images).argmax(1) if self._by_label else labels
        return self.run(images, y, target.to(device)).x

    def run(self, images: Tensor, labels: Tensor, target: Optional[Tensor]):
        raise NotImplementedError

    def save(self, data_loader, save_path: Optional[str] = None, verbose: bool = True,
             return_verbose: bool = False, save_predictions: bool = False, save_clean_inputs: bool = False):
        """Attack every batch of ``data_loader``; with ``save_path``, write torchattacks' dict
        (``adv_inputs``, ``labels``, optionally ``preds`` and ``clean_inputs``) with ``torch.save``.
        Returns (robust accuracy %, mean L2 of the fooling perturbations, seconds) with
        ``return_verbose``."""
        import time

        adv, labels, preds, clean = [], [], [], []
        correct = total = 0
        l2 = []
        start = time.perf_counter()
        for inputs, y in data_loader:
            x_adv = self(inputs, y)
            with torch.no_grad():
                pred = self._logits(x_adv).argmax(1).cpu()
            right = pred == y.cpu()
            correct, total = correct + int(right.sum()), total + len(y)
            l2.append((x_adv.cpu() - inputs.cpu()).flatten(1).norm(dim=1)[~right])
            adv.append(x_adv.detach().cpu())
            labels.append(y.cpu())
            preds.append(pred)
            clean.append(inputs.cpu())
        robust = 100.0 * correct / max(total, 1)
        mean_l2 = float(torch.cat(l2).mean()) if l2 and torch.cat(l2).numel() else 0.0
        seconds = time.perf_counter() - start
        if verbose:
            print(f"Robust accuracy: {robust:.2f}% | L2: {mean_l2:.5f} | Elapsed time: {seconds:.2f} s")
        if save_path is not None:
            out: Dict[str, Tensor] = {"adv_inputs": torch.cat(adv), "labels": torch.cat(labels)}
            if save_predictions:
                out["preds"] = torch.cat(preds)
            if save_clean_inputs:
                out["clean_inputs"] = torch.cat(clean)
            torch.save(out, save_path)
        if return_verbose:
            return robust, mean_l2, seconds
        return None

    def __repr__(self) -> str:
        return f"{self.attack}(model_name={type(self._given_model).__name__}, targeted={self.targeted})"


class FGSM(Attack):
    supports_targeted = True

    def __init__(self, model: nn.Module, eps: float = 8 / 255):
        super().__init__("FGSM", model)
        self.eps = eps

    def run(self, images, labels, target):
        return zoo.fgsm(self.model, images, labels, self.eps, target=target)


class PGD(Attack):
    supports_targeted = True
    norm = "linf"

    def __init__(self, model: nn.Module, eps: float = 8 / 255, alpha: float = 2 / 255, steps: int = 10,
                 random_start: bool = True):
        super().__init__(type(self).__name__, model)
        self.eps, self.alpha, self.steps, self.random_start = eps, alpha, steps, random_start

    def run(self, images, labels, target):
        return zoo.pgd(self.model, images, labels, self.eps, norm=self.norm, steps=self.steps,
                       step_size=self.alpha, random_start=self.random_start, target=target, seed=None)


class PGDL2(PGD):
    norm = "l2"

    def __init__(self, model: nn.Module, eps: float = 1.0, alpha: float = 0.2, steps: int = 10,
                 random_start: bool = True, eps_for_division: float = 1e-10):
        super().__init__(model, eps, alpha, steps, random_start)


class MIFGSM(Attack):
    supports_targeted = True

    def __init__(self, model: nn.Module, eps: float = 8 / 255, alpha: float = 2 / 255, steps: int = 10,
                 decay: float = 1.0):
        super().__init__("MIFGSM", model)
        self.eps, self.alpha, self.steps, self.decay = eps, alpha, steps, decay

    def run(self, images, labels, target):
        return zoo.mifgsm(self.model, images, labels, self.eps, steps=self.steps, decay=self.decay,
                          step_size=self.alpha, target=target)


class DIFGSM(Attack):
    supports_targeted = True

    def __init__(self, model: nn.Module, eps: float = 8 / 255, alpha: float = 2 / 255, steps: int = 10,
                 decay: float = 0.0, resize_rate: float = 0.9, diversity_prob: float = 0.5,
                 random_start: bool = False):
        super().__init__("DIFGSM", model)
        _only_default("random_start", random_start, False)
        self.eps, self.alpha, self.steps, self.decay = eps, alpha, steps, decay
        self.resize_rate, self.diversity_prob = resize_rate, diversity_prob

    def run(self, images, labels, target):
        return zoo.difgsm(self.model, images, labels, self.eps, steps=self.steps, step_size=self.alpha,
                          decay=self.decay, resize_rate=self.resize_rate, diversity_prob=self.diversity_prob,
                          target=target, seed=None)


class TIFGSM(DIFGSM):
    """TI-FGSM; unlike torchattacks' (whose kernel is built for 3 channels) it runs on any channel count."""

    def __init__(self, model: nn.Module, eps: float = 8 / 255, alpha: float = 2 / 255, steps: int = 10,
                 decay: float = 0.0, kernel_name: str = "gaussian", len_kernel: int = 15, nsig: int = 3,
                 resize_rate: float = 0.9, diversity_prob: float = 0.5, random_start: bool = False):
        super().__init__(model, eps, alpha, steps, decay, resize_rate, diversity_prob, random_start)
        self.attack = "TIFGSM"
        _only_default("kernel_name", kernel_name, "gaussian")
        self.len_kernel, self.nsig = len_kernel, nsig

    def run(self, images, labels, target):
        return zoo.tifgsm(self.model, images, labels, self.eps, steps=self.steps, step_size=self.alpha,
                          decay=self.decay, kernel_size=self.len_kernel, nsig=self.nsig,
                          resize_rate=self.resize_rate, diversity_prob=self.diversity_prob, target=target,
                          seed=None)


class VMIFGSM(Attack):
    supports_targeted = True

    def __init__(self, model: nn.Module, eps: float = 8 / 255, alpha: float = 2 / 255, steps: int = 10,
                 decay: float = 1.0, N: int = 5, beta: float = 3 / 2):
        super().__init__("VMIFGSM", model)
        self.eps, self.alpha, self.steps, self.decay, self.N, self.beta = eps, alpha, steps, decay, N, beta

    def run(self, images, labels, target):
        return zoo.vmifgsm(self.model, images, labels, self.eps, steps=self.steps, step_size=self.alpha,
                           decay=self.decay, neighbours=self.N, beta=self.beta, target=target, seed=None)


class CW(Attack):
    """Carlini–Wagner L2 with one constant ``c`` (torchattacks' version: no search over c)."""

    supports_targeted = True

    def __init__(self, model: nn.Module, c: float = 1, kappa: float = 0, steps: int = 50, lr: float = 0.01):
        super().__init__("CW", model)
        self.c, self.kappa, self.steps, self.lr = c, kappa, steps, lr

    def run(self, images, labels, target):
        return zoo.cw_l2(self.model, images, labels, target=target, c=self.c, confidence=self.kappa,
                         steps=self.steps, step_size=self.lr, search_rounds=1)


class DeepFool(Attack):
    def __init__(self, model: nn.Module, steps: int = 50, overshoot: float = 0.02):
        super().__init__("DeepFool", model)
        self.steps, self.overshoot = steps, overshoot

    def run(self, images, labels, target):
        return zoo.deepfool(self.model, images, labels, norm="l2", steps=self.steps, overshoot=self.overshoot)


class APGD(Attack):
    def __init__(self, model: nn.Module, norm: str = "Linf", eps: float = 8 / 255, steps: int = 10,
                 n_restarts: int = 1, seed: int = 0, loss: str = "ce", eot_iter: int = 1, rho: float = .75,
                 verbose: bool = False):
        super().__init__("APGD", model)
        _only_default("eot_iter", eot_iter, 1)
        _only_default("rho", rho, .75)
        self.norm, self.eps, self.steps, self.restarts, self.seed, self.loss = _norm(norm), eps, steps, n_restarts, seed, loss

    def run(self, images, labels, target):
        return zoo.apgd(self.model, images, labels, self.eps, norm=self.norm, loss=self.loss, steps=self.steps,
                        restarts=self.restarts, early_stop=True, seed=self.seed)


class APGDT(Attack):
    def __init__(self, model: nn.Module, norm: str = "Linf", eps: float = 8 / 255, steps: int = 10,
                 n_restarts: int = 1, seed: int = 0, eot_iter: int = 1, rho: float = .75, verbose: bool = False,
                 n_classes: int = 10):
        super().__init__("APGDT", model)
        _only_default("eot_iter", eot_iter, 1)
        _only_default("rho", rho, .75)
        self.norm, self.eps, self.steps, self.restarts, self.seed = _norm(norm), eps, steps, n_restarts, seed
        self.num_targets = n_classes - 1

    def run(self, images, labels, target):
        return zoo.apgd_targeted(self.model, images, labels, self.eps, norm=self.norm, num_targets=self.num_targets,
                                 steps=self.steps, restarts=self.restarts, seed=self.seed)


class FAB(Attack):
    """FAB within ε. robustgan's FAB is the targeted one: ``multi_targeted=True`` runs it toward
    the ``n_classes − 1`` most likely other classes (FAB-T); the default runs it toward the single
    most likely other class, whose boundary is the one untargeted FAB mostly reaches first."""

    def __init__(self, model: nn.Module, norm: str = "Linf", eps: float = 8 / 255, steps: int = 10,
                 n_restarts: int = 1, alpha_max: float = 0.1, eta: float = 1.05, beta: float = 0.9,
                 verbose: bool = False, seed: int = 0, multi_targeted: bool = False, n_classes: int = 10):
        super().__init__("FAB", model)
        for name, value, default in (("n_restarts", n_restarts, 1), ("alpha_max", alpha_max, 0.1),
                                     ("eta", eta, 1.05), ("beta", beta, 0.9)):
            _only_default(name, value, default)
        self.norm, self.eps, self.steps = _norm(norm), eps, steps
        self.num_targets = n_classes - 1 if multi_targeted else 1

    def run(self, images, labels, target):
        return zoo.fab_targeted(self.model, images, labels, self.eps, norm=self.norm, num_targets=self.num_targets,
                                steps=self.steps)


class Square(Attack):
    def __init__(self, model: nn.Module, norm: str = "Linf", eps: float = 8 / 255, n_queries: int = 5000,
                 n_restarts: int = 1, p_init: float = .8, loss: str = "margin", resc_schedule: bool = True,
                 seed: int = 0, verbose: bool = False):
        super().__init__("Square", model)
        _only_default("n_restarts", n_restarts, 1)
        _only_default("loss", loss, "margin")
        _only_default("resc_schedule", resc_schedule, True)
        self.norm, self.eps, self.queries, self.p_init, self.seed = _norm(norm), eps, n_queries, p_init, seed

    def run(self, images, labels, target):
        return zoo.square(self.model, images, labels, self.eps, norm=self.norm, steps=self.queries,
                          p_init=self.p_init, seed=self.seed)


class _Images:
    """What ``run`` returns for attacks assembled from others: just the images."""

    def __init__(self, x: Tensor):
        self.x = x


class AutoAttack(Attack):
    """AutoAttack's standard line-up (APGD-CE, APGD-T, FAB-T, Square; L1: APGD-CE, APGD-T), each on
    the points the earlier ones left, through ``robustgan.evaluate.suite.run_suite``."""

    def __init__(self, model: nn.Module, norm: str = "Linf", eps: float = 8 / 255, version: str = "standard",
                 n_classes: int = 10, seed: Optional[int] = None, verbose: bool = False):
        super().__init__("AutoAttack", model)
        _only_default("version", version, "standard")
        self.norm, self.eps = _norm(norm), eps

    def run(self, images, labels, target):
        from ..evaluate.suite import run_suite

        return _Images(run_suite(self.model, images, labels, self.eps, norm=self.norm, suite="standard").x_adv)


class MultiAttack(Attack):
    """Each attack in turn on the images the earlier ones did not fool (torchattacks' MultiAttack)."""

    def __init__(self, attacks: List[Attack], verbose: bool = False):
        if not attacks:
            raise ValueError("MultiAttack needs at least one attack")
        super().__init__("MultiAttack", attacks[0].model)
        self.attacks = attacks

    def forward(self, images: Tensor, labels: Tensor) -> Tensor:
        out = images.clone()
        alive = torch.ones(len(images), dtype=torch.bool, device=images.device)
        for atk in self.attacks:
            idx = alive.nonzero().squeeze(1)
            if not idx.numel():
                break
            x_adv = atk(images[idx], labels[idx]).to(out.device)
            fooled = (atk._logits(x_adv).argmax(1) != labels[idx].to(x_adv.device)).to(out.device)
            out[idx[fooled]] = x_adv[fooled]
            alive[idx[fooled]] = False
        return out


__all__ = ["APGD", "APGDT", "CW", "DIFGSM", "FAB", "FGSM", "MIFGSM", "TIFGSM", "VMIFGSM", "PGD", "PGDL2", "Attack", "AutoAttack", "DeepFool",
           "MultiAttack", "Square"]
