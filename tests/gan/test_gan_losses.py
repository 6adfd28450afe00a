"""Every GAN loss: its value on hand-computed inputs and the sign of its gradient."""
from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from robustgan.gan import losses as L
from robustgan.gan.penalties import clip_weights, dragan_penalty, gradient_penalty
from robustgan.gan.registry import LOSSES, Hyper, get_loss, loss_names


def sig(v: float) -> float:
    return 1 / (1 + math.exp(-v))


def grad_of(fn, *values):
    xs = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    out = fn(*xs)
    out.backward()
    return out.item(), [x.grad for x in xs]


# --- the original game -------------------------------------------------------------------------

def test_bce_discriminator_value_and_gradient_signs():
    real, fake = [2.0, -1.0], [0.5, -3.0]
    expected = (-math.log(sig(2.0)) - math.log(sig(-1.0))) / 2 + (-math.log(1 - sig(0.5)) - math.log(1 - sig(-3.0))) / 2
    value, (g_real, g_fake) = grad_of(L.bce_d, real, fake)
    assert value == pytest.approx(expected, rel=1e-12)
    assert (g_real < 0).all() and (g_fake > 0).all()  # descending raises real scores, lowers fake ones


def test_one_sided_label_smoothing_changes_only_the_real_target():
    real, fake = torch.tensor([1.5, -0.5], dtype=torch.float64), torch.tensor([0.3, 2.0], dtype=torch.float64)
    s = 0.9
    expected = sum(-(s * math.log(sig(r)) + (1 - s) * math.log(1 - sig(r))) for r in real.tolist()) / 2 \
        + sum(-math.log(1 - sig(f)) for f in fake.tolist()) / 2
    assert L.bce_d(real, fake, real_label=s).item() == pytest.approx(expected, rel=1e-12)
    # with a smoothed target, a real score beyond logit(0.9) is pushed back down
    _, (g_real, _) = grad_of(lambda r, f: L.bce_d(r, f, real_label=0.9), [5.0], [0.0])
    assert g_real.item() > 0


def test_minimax_generator_is_the_saturating_one():
    scores = [-8.0, 0.0, 3.0]
    value, (g,) = grad_of(L.minimax_g, scores)
    assert value == pytest.approx(sum(math.log(1 - sig(s)) for s in scores) / 3, rel=1e-12)
    # dL/ds = −σ(s)/N: negative everywhere (descending raises D(G(z))) and vanishing as D rejects
    assert torch.allclose(g, torch.tensor([-sig(s) / 3 for s in scores], dtype=torch.float64))
    value_ns, (g_ns,) = grad_of(L.nonsaturating_g, scores)
    assert value_ns == pytest.approx(sum(-math.log(sig(s)) for s in scores) / 3, rel=1e-12)
    assert torch.allclose(g_ns, torch.tensor([-(1 - sig(s)) / 3 for s in scores], dtype=torch.float64))
    # where D confidently rejects the samples, minimax saturates and non-saturating does not
    _, (g_sat,) = grad_of(L.minimax_g, [-10.0])
    _, (g_nonsat,) = grad_of(L.nonsaturating_g, [-10.0])
    assert abs(g_sat.item()) < 1e-4 < 0.99 < abs(g_nonsat.item())
    # the two are different functions with the same sign of gradient
    assert value != pytest.approx(value_ns)
    assert (g < 0).all() and (g_ns < 0).all()


def test_registry_keeps_minimax_and_non_saturating_apart():
    assert get_loss("minimax").g_loss is L.minimax_g
    assert get_loss("saturating").g_loss is L.minimax_g
    assert get_loss("non-saturating").g_loss is L.nonsaturating_g
    assert get_loss("ns").g_loss is L.nonsaturating_g
    for name in ("cgan", "acgan", "infogan", "dragan"):
        assert get_loss(name).g_loss is L.nonsaturating_g


# --- least squares, Wasserstein, hinge -----------------------------------------------------------

def test_lsgan_values_and_gradient_signs():
    value, (g_r, g_f) = grad_of(L.lsgan_d, [0.5, 2.0], [1.0, -1.0])
    assert value == pytest.approx(0.5 * ((0.5 - 1) ** 2 + (2 - 1) ** 2) / 2 + 0.5 * (1 + 1) / 2)
    assert g_r.tolist() == pytest.approx([-0.25, 0.5])  # pulls real scores toward 1 from both sides
    assert g_f.tolist() == pytest.approx([0.5, -0.5])   # pulls fake scores toward 0
    value, (g,) = grad_of(L.lsgan_g, [0.0, 3.0])
    assert value == pytest.approx(0.5 * (1 + 4) / 2)
    assert g.tolist() == pytest.approx([-0.5, 1.0])


def test_wasserstein_values_and_gradient_signs():
    value, (g_r, g_f) = grad_of(L.wasserstein_d, [1.0, 3.0], [0.5, -0.5])
    assert value == pytest.approx(0.0 - 2.0)
    assert (g_r == -0.5).all() and (g_f == 0.5).all()
    value, (g,) = grad_of(L.wasserstein_g, [2.0, 4.0])
    assert value == pytest.approx(-3.0)
    assert (g == -0.5).all()


def test_hinge_values_and_gradient_signs():
    value, (g_r, g_f) = grad_of(L.hinge_d, [0.5, 2.0], [-2.0, 0.0])
    assert value == pytest.approx((0.5 + 0.0) / 2 + (0.0 + 1.0) / 2)
    assert g_r.tolist() == pytest.approx([-0.5, 0.0])  # only real scores inside the margin move
    assert g_f.tolist() == pytest.approx([0.0, 0.5])
    assert get_loss("hinge").g_loss is L.wasserstein_g


# --- energy-based ------------------------------------------------------------------------------

def test_ebgan_values_and_gradient_signs():
    value, (g_r, g_f) = grad_of(lambda r, f: L.ebgan_d(r, f, margin=1.0), [0.2, 0.4], [0.5, 1.5])
    assert value == pytest.approx(0.3 + (0.5 + 0.0) / 2)
    assert (g_r > 0).all()                        # lower the energy of real images
    assert g_f.tolist() == pytest.approx([-0.5, 0.0])  # raise fake energy only below the margin
    value, (g,) = grad_of(L.energy_g, [0.2, 0.6])
    assert value == pytest.approx(0.4) and (g > 0).all()


def test_pulling_away_term_is_mean_squared_cosine_of_distinct_pairs():
    orthogonal = torch.eye(3, dtype=torch.float64)
    assert L.pulling_away(orthogonal).item() == pytest.approx(0.0)
    same = torch.ones(4, 2, dtype=torch.float64)
    assert L.pulling_away(same).item() == pytest.approx(1.0)
    e = torch.tensor([[1.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    assert L.pulling_away(e).item() == pytest.approx(0.5)  # cos² 45° for both ordered pairs


def test_began_values_gradients_and_k_control():
    value, (g_r, g_f) = grad_of(lambda r, f: L.began_d(r, f, k=0.25), [0.2, 0.4], [0.8, 0.4])
    assert value == pytest.approx(0.3 - 0.25 * 0.6)
    assert (g_r > 0).all() and (g_f < 0).all()
    real, fake = torch.tensor([0.2, 0.4]), torch.tensor([0.1, 0.1])
    # γ·L(x) − L(G(z)) = 0.5·0.3 − 0.1 = 0.05 > 0: k grows by λ_k·0.05
    assert L.began_update(0.1, real, fake, gamma=0.5, lambda_k=0.01) == pytest.approx(0.1005)
    assert L.began_update(0.0, real, torch.tensor([5.0, 5.0]), 0.5, 1.0) == 0.0  # clipped at 0
    assert L.began_update(0.99, real, torch.tensor([0.0, 0.0]), 0.5, 1.0) == 1.0  # clipped at 1
    assert L.began_convergence(real, fake, 0.5) == pytest.approx(0.3 + 0.05)


# --- auxiliary terms -------------------------------------------------------------------------

def test_acgan_class_loss_is_cross_entropy_and_pushes_the_true_class_up():
    logits = torch.tensor([[2.0, 0.0, -1.0]], dtype=torch.float64, requires_grad=True)
    value = L.acgan_class_loss(logits, torch.tensor([1]))
    z = math.exp(2) + 1 + math.exp(-1)
    assert value.item() == pytest.approx(-math.log(1 / z))
    value.backward()
    assert logits.grad[0, 1] < 0 and logits.grad[0, 0] > 0


def test_infogan_loss_combines_categorical_and_gaussian_terms():
    logits = torch.tensor([[0.0, 0.0]], dtype=torch.float64)
    cont_pred = torch.tensor([[0.5, -1.0]], dtype=torch.float64, requires_grad=True)
    cont = torch.tensor([[0.0, 0.0]], dtype=torch.float64)
    value = L.infogan_loss(logits, torch.tensor([0]), cont_pred, cont, continuous_weight=2.0)
    assert value.item() == pytest.approx(math.log(2) + 2.0 * 0.5 * (0.25 + 1.0))
    value.backward()
    assert cont_pred.grad[0].tolist() == pytest.approx([1.0, -2.0])  # toward the true codes
    with pytest.raises(ValueError, match="at least one code"):
        L.infogan_loss(None, None, None, None)


# --- penalties ---------------------------------------------------------------------------------

def linear_critic(w: torch.Tensor):
    return lambda x: (x.flatten(1) * w).sum(1)


def test_wgan_gp_penalty_is_zero_for_a_unit_norm_linear_critic():
    gen = torch.Generator().manual_seed(0)
    w = torch.randn(1 * 4 * 4, dtype=torch.float64, generator=gen)
    w = w / w.norm()  # 1-Lipschitz, gradient of norm exactly 1 everywhere
    real = torch.rand(8, 1, 4, 4, dtype=torch.float64, generator=gen)
    fake = torch.rand(8, 1, 4, 4, dtype=torch.float64, generator=gen)
    assert gradient_penalty(linear_critic(w), real, fake, weight=10.0, generator=gen).item() == pytest.approx(0.0, abs=1e-20)
    assert dragan_penalty(linear_critic(w), real, weight=10.0, generator=gen).item() == pytest.approx(0.0, abs=1e-20)


def test_gradient_penalty_value_and_gradient_for_a_steep_critic():
    w = torch.full((16,), 0.5, dtype=torch.float64, requires_grad=True)  # ‖w‖ = 2
    real, fake = torch.zeros(4, 1, 4, 4, dtype=torch.float64), torch.ones(4, 1, 4, 4, dtype=torch.float64)
    penalty = gradient_penalty(linear_critic(w), real, fake, weight=10.0)
    assert penalty.item() == pytest.approx(10.0 * (2 - 1) ** 2)
    penalty.backward()  # the penalty's gradient shrinks the critic: d/dw = 20(‖w‖ − 1)·w/‖w‖
    assert torch.allclose(w.grad, 20 * 1 * w.detach() / 2)
    assert (w.grad * w.detach()).sum() > 0


def test_gradient_penalty_rejects_mismatched_batches():
    with pytest.raises(ValueError, match="same shape"):
        gradient_penalty(linear_critic(torch.ones(16)), torch.zeros(2, 1, 4, 4), torch.zeros(3, 1, 4, 4))


def test_weight_clipping_bounds_every_parameter():
    net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.BatchNorm1d(4))
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(0).add_(5.0)
    clip_weights(net, 0.01)
    assert all(p.abs().max() <= 0.01 for p in net.parameters())
    with pytest.raises(ValueError):
        clip_weights(net, 0.0)


# --- the registry as a whole ------------------------------------------------------------------

def test_registry_lists_the_whole_table_and_rejects_unknown_names():
    assert set(loss_names()) == {"minimax", "non-saturating", "lsgan", "wgan", "wgan-gp", "dragan", "hinge",
                                 "cgan", "acgan", "infogan", "ebgan", "began"}
    assert get_loss("WGAN-GP").penalty == "gp" and get_loss("wgan").clip
    assert get_loss("dragan").penalty == "dragan"
    assert get_loss("ebgan").discriminator == get_loss("began").discriminator == "autoencoder"
    with pytest.raises(ValueError, match="unknown GAN loss"):
        get_loss("vanilla-plus")
    with pytest.raises(TypeError):
        get_loss(3)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-20, 20), min_size=1, max_size=6), st.lists(st.floats(-20, 20), min_size=1, max_size=6))
def test_every_discriminator_loss_rewards_better_separation(real, fake):
    """Raising real scores and lowering fake ones never increases D's loss (energies: the reverse).

    Least squares is left out on purpose: it pulls scores toward targets, not monotonically.
    """
    r, f = torch.tensor(real, dtype=torch.float64), torch.tensor(fake, dtype=torch.float64)
    for spec in LOSSES.values():
        if spec.family == "ls":
            continue
        h = Hyper(k=0.5, margin=1.0)
        if spec.family == "energy":
            r0, f0 = r.abs(), f.abs()
            better = spec.d_loss(r0 * 0.5, f0 * 2 + 0.1, h)
            assert better <= spec.d_loss(r0, f0, h) + 1e-12, spec.name
        else:
            assert spec.d_loss(r + 1, f - 1, h) <= spec.d_loss(r, f, h) + 1e-12, spec.name
        g_better = spec.g_loss(f.abs() * 0.5) if spec.family == "energy" else spec.g_loss(f + 1)
        g_now = spec.g_loss(f.abs()) if spec.family == "energy" else spec.g_loss(f)
        assert g_better <= g_now + 1e-12, spec.name
