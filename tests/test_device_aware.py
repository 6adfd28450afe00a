"""The optimiser and the attacks on every device: run with ``pytest --device cuda`` to add CUDA.

Each test takes a ``device`` argument (see ``conftest.py``): it always runs on the CPU and, with
``--device``, on the named device too. On a device the results must stay on it, respect their
constraints, and agree with the CPU's verdicts up to the device's floating-point differences."""
from __future__ import annotations

import copy

import pytest
import torch

import attacks
from robustgan.gan import DCGANDiscriminator, DCGANGenerator
from robustgan.optim import loop_options


def _on(model, fmnist, device, n=64):
    net = copy.deepcopy(model).to(device).eval()
    x, y = fmnist
    x, y = x[:n].to(device), y[:n].to(device)
    with torch.no_grad():
        ok = net(x).argmax(1) == y
    return net, x[ok], y[ok]


def _agree(a, b, share=0.95):
    return float((a.cpu() == b.cpu()).float().mean()) >= share


@pytest.mark.parametrize("name", ["pgd", "pgd-l2", "apgd", "fmn", "ddn", "deepfool", "cw", "square"])
def test_attacks_run_on_the_device_and_agree_with_the_cpu(model, fmnist, device, name):
    net, x, y = _on(model, fmnist, device)
    runs = {
        "pgd": lambda m, a, b: attacks.pgd(m, a, b, 0.05, steps=10, seed=0, early_stop=True, retire_cycles=True),
        "pgd-l2": lambda m, a, b: attacks.pgd(m, a, b, 1.0, norm="l2", steps=10, seed=0),
        "apgd": lambda m, a, b: attacks.apgd(m, a, b, 0.05, steps=20, seed=0),
        "fmn": lambda m, a, b: attacks.fmn(m, a, b, norm="l1", steps=20),
        "ddn": lambda m, a, b: attacks.ddn(m, a, b, steps=20),
        "deepfool": lambda m, a, b: attacks.deepfool(m, a, b, norm="linf", steps=10),
        "cw": lambda m, a, b: attacks.cw_l2(m, a, b, steps=20, search_rounds=2),
        "square": lambda m, a, b: attacks.square(m, a, b, 0.05, steps=100, seed=0),
    }
    res = runs[name](net, x, y)
    assert res.x.device == x.device and res.success.device == x.device
    assert res.x.min() >= 0 and res.x.max() <= 1
    if name in ("pgd", "apgd", "square"):
        assert ((res.x - x).abs().flatten(1).amax(1) <= 0.05 + 1e-6).all()
    with torch.no_grad():
        assert torch.equal(res.success, net(res.x).argmax(1) != y)
    on_cpu = runs[name](copy.deepcopy(model).eval(), x.cpu(), y.cpu())
    assert _agree(res.success, on_cpu.success), name


def test_masked_loop_on_the_device_reaches_the_gathering_loops_decisions(model, fmnist, device):
    net, x, y = _on(model, fmnist, device)
    plain = attacks.pgd(net, x, y, 0.05, steps=10, seed=0, early_stop=True)
    with loop_options(sync_every=4):
        masked = attacks.pgd(net, x, y, 0.05, steps=10, seed=0, early_stop=True)
    assert torch.equal(plain.success, masked.success) and torch.equal(plain.steps, masked.steps)
    assert torch.allclose(plain.x, masked.x, atol=1e-5, rtol=0)


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_autocast_on_the_device(model, fmnist, device, amp):
    if device == "cpu" and amp == "fp16":
        pytest.skip("fp16 autocast is a GPU precision")
    net, x, y = _on(model, fmnist, device)
    full = attacks.pgd(net, x, y, 0.05, steps=10, seed=0)
    with loop_options(amp=amp):
        half = attacks.pgd(net, x, y, 0.05, steps=10, seed=0)
    assert half.x.dtype == torch.float32 and half.x.device == x.device
    assert ((half.x - x).abs().flatten(1).amax(1) <= 0.05 + 1e-6).all()
    assert _agree(half.success, full.success, 0.9)


def test_gan_step_and_inversion_on_the_device(tmp_path_factory, device):
    """A generator and a critic train one step on the device, and inverting a trained generator
    there recovers images it made (residual far below that of its mean latent's image)."""
    from conftest import cached_gan
    from robustgan.gan import load_generator
    from robustgan.gan.inversion import invert

    torch.manual_seed(0)
    g = DCGANGenerator(latent_dim=16, width=8).to(device)
    d = DCGANDiscriminator(width=8).to(device)
    opt = torch.optim.Adam(list(g.parameters()) + list(d.parameters()), lr=1e-3)
    loss = torch.nn.functional.softplus(-d(g(torch.randn(8, 16, device=device)))).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert all(p.device.type == torch.device(device).type for p in g.parameters())
    trained = load_generator(cached_gan(tmp_path_factory, "seed0", seed=0)).to(device).eval()
    with torch.no_grad():
        target = trained(trained.sample_latent(4, torch.Generator().manual_seed(5)).to(device))
        start = ((trained(torch.zeros(4, trained.latent_dim, device=device)) - target) ** 2).flatten(1).mean(1)
    res = invert([trained], target, steps=100, restarts=2, seed=0)
    assert res.reconstructions.device == target.device
    assert (res.residuals[0] < 0.5 * start).all(), (res.residuals, start)
