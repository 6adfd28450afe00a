"""Transfer attacks (DI, TI, VMI) as recipes over the optimiser, and the source × target matrix."""
from __future__ import annotations

import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import attacks
from robustgan.cli import main
from robustgan.models import save_classifier
from robustgan.models.normalized import Normalized
from robustgan.models.zoo import MLP
from robustgan.optim import Sign
from robustgan.optim.rules.transfer import InputDiversity, Smoothed, gaussian_kernel
from robustgan.transfer import transfer_matrix

TRANSFER = {"difgsm": attacks.difgsm, "tifgsm": attacks.tifgsm, "vmifgsm": attacks.vmifgsm}


class ThreeChannels(nn.Module):
    """A grey model seen as an RGB one (torchattacks' TI kernel is hard-wired to 3 channels): the
    channels are averaged, so three equal channels give the grey model's output exactly."""

    def __init__(self, grey: nn.Module):
        super().__init__()
        self.grey = grey

    def forward(self, x):
        return self.grey(x.mean(dim=1, keepdim=True))


@pytest.mark.parametrize("name", sorted(TRANSFER))
def test_transfer_attacks_stay_in_the_ball_and_the_box_and_fool_the_source(name, model, batch):
    x, y = batch
    res = TRANSFER[name](model, x, y, 0.1, steps=10, step_size=0.025, seed=0)
    assert float((res.x - x).abs().max()) <= 0.1 + 1e-6
    assert float(res.x.min()) >= 0 and float(res.x.max()) <= 1
    with torch.no_grad():
        fooled = model(res.x).argmax(1) != y
    # TI's 15×15 smoothing on 28×28 images gives up white-box strength for transfer
    assert torch.equal(fooled, res.success) and float(fooled.float().mean()) >= (0.4 if name == "tifgsm" else 0.8)


def test_di_and_ti_without_randomness_agree_with_torchattacks(model, batch):
    torchattacks = pytest.importorskip("torchattacks")
    x, y = batch
    ours = attacks.difgsm(model, x, y, 0.1, steps=5, step_size=0.03, decay=1.0, diversity_prob=0.0)
    theirs = torchattacks.DIFGSM(model, eps=0.1, alpha=0.03, steps=5, decay=1.0, diversity_prob=0.0)(x, y)
    assert torch.allclose(ours.x, theirs, atol=1e-6)
    rgb = ThreeChannels(model)
    ours = attacks.tifgsm(model, x, y, 0.1, steps=5, step_size=0.03, diversity_prob=0.0, kernel_size=7)
    theirs = torchattacks.TIFGSM(rgb, eps=0.1, alpha=0.03, steps=5, diversity_prob=0.0, len_kernel=7)(x.repeat(1, 3, 1, 1), y)
    assert torch.equal(theirs[:, :1], theirs[:, 2:])
    # the smoothed gradient's sign flips where it is ~0 (the two kernels differ in the last ulp)
    differ = (ours.x - theirs[:, :1]).abs() > 1e-6
    assert float(differ.float().mean()) < 1e-3
    with torch.no_grad():
        assert torch.equal(model(ours.x).argmax(1), model(theirs[:, :1]).argmax(1))


def test_vmi_spends_one_plus_n_gradients_per_step(model, batch):
    x, y = batch
    res = attacks.vmifgsm(model, x[:8], y[:8], 0.1, steps=4, neighbours=3, seed=0)
    # per step: the iterate's gradient and 3 neighbours'; a last evaluation; a judging pass
    assert res.backwards.tolist() == [4 * (1 + 3)] * 8
    again = attacks.vmifgsm(model, x[:8], y[:8], 0.1, steps=4, neighbours=3, seed=0)
    assert torch.equal(res.x, again.x)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2 ** 16), st.floats(0.5, 0.95), st.integers(8, 32))
def test_input_diversity_keeps_the_shape_and_only_shrinks_and_pads(seed, rate, side):
    x = torch.rand(3, 2, side, side, generator=torch.Generator().manual_seed(seed)) + 0.5
    t = InputDiversity(rate, 1.0, torch.Generator().manual_seed(seed))
    out = t(x)
    assert out.shape == x.shape
    border = (out == 0).all(dim=0).all(dim=0)  # padding: whole zero rows or columns
    if not torch.equal(out, x):
        assert bool(border.any())
    assert torch.equal(InputDiversity(rate, 0.0)(x), x)


def test_smoothing_with_a_point_kernel_is_the_inner_rule():
    g = torch.randn(4, 1, 9, 9)
    w = torch.rand(4, 1, 9, 9)
    point = torch.zeros(3, 3)
    point[1, 1] = 1
    inner = Sign(0.1)
    inner.reset(w, torch.arange(4))
    rule = Smoothed(inner, point)
    assert torch.equal(rule.step(w, g, None), inner.step(w, g, None))
    k = gaussian_kernel(15, 3)
    assert k.shape == (15, 15) and abs(float(k.sum()) - 1) < 1e-6 and float(k[7, 7]) == float(k.max())
    with pytest.raises(ValueError, match="odd"):
        gaussian_kernel(4)


@pytest.fixture(scope="module")
def mlp_checkpoint(fmnist, tmp_path_factory):
    """A differently shaped target: an MLP trained for a few hundred steps on test images 1000+ ."""
    from robustgan.data import load_dataset, take

    ds, _ = load_dataset("fashion-mnist", "test")
    x, y = take(ds, 3000)
    x, y = x[1000:], y[1000:]
    torch.manual_seed(0)
    net = Normalized(MLP(width=64), (0.2860,), (0.3530,))
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    for epoch in range(4):
        for i in range(0, len(x), 100):
            opt.zero_grad()
            nn.functional.cross_entropy(net(x[i:i + 100]), y[i:i + 100]).backward()
            opt.step()
    path = tmp_path_factory.mktemp("mlp") / "mlp.pt"
    save_classifier(path, net.eval(), "mlp", {"in_channels": 1, "num_classes": 10, "width": 64, "image_size": 28})
    return path


def test_the_matrix_diagonal_is_the_white_box_rate_and_cells_count_clean_correct_points(model, mlp_checkpoint, batch):
    from robustgan.models import load_classifier

    x, y = batch
    mlp = load_classifier(mlp_checkpoint)

    def attack(m, xb, yb):
        return attacks.mifgsm(m, xb, yb, 0.15, steps=10)

    result = transfer_matrix({"cnn": model}, {"cnn": model, "mlp": mlp}, x, y, attack)
    adv = attack(model, x, y).x
    with torch.no_grad():
        clean_cnn, clean_mlp = model(x).argmax(1) == y, mlp(x).argmax(1) == y
        fooled_mlp = mlp(adv).argmax(1) != y
    both = clean_cnn & clean_mlp
    assert result.counted[0] == [int(clean_cnn.sum()), int(both.sum())]
    assert result.rate[0][1] == pytest.approx(float((fooled_mlp & both).sum()) / int(both.sum()))
    assert result.rate[0][0] >= 0.9 and result.rate[0][0] > result.rate[0][1]
    assert "| cnn |" in result.markdown()


def test_cli_writes_the_matrix_from_checkpoints_and_from_a_crafted_set(mlp_checkpoint, tmp_path, capsys):
    from robustgan.models.default import default_checkpoint_path

    shipped = str(default_checkpoint_path())
    code = main(["transfer", "--source", shipped, "--target", shipped, "--target", str(mlp_checkpoint),
                 "--attack", "difgsm", "--eps", "0.1", "--steps", "5", "-n", "40", "--out", str(tmp_path / "t"),
                 "--quiet"])
    assert code in (0, None)
    report = json.loads((tmp_path / "t" / "transfer.json").read_text())
    assert report["targets"] == [default_checkpoint_path().stem, "mlp"] and len(report["rate"]) == 1
    assert (tmp_path / "t" / "transfer.png").stat().st_size > 1000
    main(["craft", "adversarial", "--attack", "difgsm", "--eps", "0.1", "--steps", "5", "-n", "40",
          "--out", str(tmp_path / "set"), "--quiet"])
    capsys.readouterr()
    code = main(["transfer", "--images", str(tmp_path / "set"), "--target", shipped, "--target",
                 str(mlp_checkpoint), "--out", str(tmp_path / "u"), "--quiet"])
    from_set = json.loads((tmp_path / "u" / "transfer.json").read_text())
    assert from_set["sources"] == ["set (crafted)"] and from_set["counted"][0][0] == int(report["counted"][0][0])
