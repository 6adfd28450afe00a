"""The security curve in ``evaluate``: every zoo attack by name, the envelope of the minimal-norm
attacks, one verdict per threat, and escalation to the standard suite when gradients are masked."""
from __future__ import annotations

import json

import pytest
import torch

import attacks
from robustgan.cli import main
from robustgan.evaluate.checks import check_envelope_bounds_sweeps, masked_norms
from robustgan.evaluate.minimal import envelope, optimality, per_point_distance
from robustgan.evaluate.registry import CATALOGUE
from robustgan.evaluate.sweep import SweepResult
from robustgan.evaluate.verdict import headline
from test_evaluation_checks import Quantized


def test_every_attack_of_the_zoo_has_an_evaluate_entry():
    assert set(CATALOGUE) == set(attacks.ATTACKS)


def test_evaluate_runs_every_attack_of_the_zoo_by_name(tmp_path):
    out = tmp_path / "all"
    code = main(["evaluate", "-n", "40", "--num-minimal", "8", "--attacks", ",".join(sorted(attacks.ATTACKS)),
                 "--norms", "linf,l2,l1", "--eps-linf", "0.05,0.1", "--eps-l2", "1,2", "--eps-l1", "5,10",
                 "--steps", "3", "--minimal-queries", "21", "--no-checks", "--out", str(out), "--quiet"])
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    ran = {s["attack"] for s in report["sweeps"]} | {a for b in report["minimal"].values() for a in b["attacks"]}
    assert set(attacks.ATTACKS) <= ran
    for norm, block in report["minimal"].items():
        for name, row in block["attacks"].items():
            if name != "envelope":
                assert row["queries"] <= 21 + 1e-9, (norm, name, row["queries"])  # the budget holds
    assert {s["norm"] for s in report["sweeps"] if s["attack"] == "apgd"} == {"linf", "l2", "l1"}


@pytest.fixture(scope="module")
def default_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("eval") / "default"
    code = main(["evaluate", "-n", "150", "--num-minimal", "40", "--check-examples", "40", "--out", str(out),
                 "--quiet"])
    assert code == 0
    return json.loads((out / "report.json").read_text()), out


def test_default_report_draws_the_curve_for_each_norm_with_its_envelope(default_report):
    report, out = default_report
    assert set(report["minimal"]) == {"linf", "l2"}
    for norm, block in report["minimal"].items():
        rows = block["attacks"]
        assert {"deepfool", "fmn"} <= set(rows) and "envelope" in rows
        env = block["curve"]["envelope"]
        assert all(b <= a + 1e-9 for a, b in zip(env, env[1:]))  # a survival curve falls
        for name, row in rows.items():
            assert 0 < row["optimality"] <= 1 + 1e-9
            assert row["median"] >= rows["envelope"]["median"] - 1e-9, name
            if name != "envelope":
                assert row["queries"] > 0 and row["seconds"] >= 0
    assert "ddn" in report["minimal"]["l2"]["attacks"] and "cw" in report["minimal"]["l2"]["attacks"]
    assert (out / "robust_accuracy.png").stat().st_size > 1000
    text = (out / "report.md").read_text()
    assert "Verdict" in text and "envelope" in text and "optimality" in text


def test_headline_is_the_lowest_robust_accuracy_over_every_attack(default_report):
    report, _ = default_report
    rows = {(h["norm"], h["eps"]): h for h in report["headline"]}
    for s in report["sweeps"]:
        for e, a in zip(s["eps"], s["robust_accuracy"]):
            h = rows[(s["norm"], round(e, 10))]
            assert h["robust_accuracy"] <= a + 1e-12
            assert h["robust_accuracy"] == min(h["candidates"].values())
            assert h["candidates"][h["attack"]] == h["robust_accuracy"]
    # the default model's envelope must never lie above its PGD sweep (on the same points)
    env_check = [c for c in report["checks"] if c["name"] == "the minimal-norm envelope bounds the sweeps"]
    assert len(env_check) == 2 and all(c["passed"] for c in env_check), env_check


def test_masked_gradients_make_the_escalated_suite_the_headline(model, tmp_path):
    masked = torch.jit.trace(Quantized(model).eval(), torch.rand(2, 1, 28, 28))
    path = tmp_path / "quantized.ts"
    masked.save(str(path))
    out = tmp_path / "masked"
    code = main(["evaluate", "--model", str(path), "-n", "60", "--num-minimal", "20", "--norms", "linf",
                 "--eps-linf", "0.05,0.1", "--check-examples", "40", "--steps", "10", "--suite-steps", "10",
                 "--suite-queries", "400", "--out", str(out), "--quiet"])
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    assert any(not c["passed"] for c in report["checks"])
    escalated = [s for s in report["suites"] if s.get("escalated")]
    assert len(escalated) == 1 and escalated[0]["norm"] == "linf" and escalated[0]["suite"] == "standard"
    assert any(r["attack"] == "square" for r in escalated[0]["attacks"])
    pgd = next(s for s in report["sweeps"] if s["attack"] == "pgd")
    top = next(h for h in report["headline"] if h["norm"] == "linf" and h["eps"] == 0.1)
    assert top["robust_accuracy"] == escalated[0]["robust_accuracy"] < pgd["robust_accuracy"][1] - 0.2
    assert "suite" in top["attack"]
    # and without escalation the same run reports the (wrong) gradient-attack number
    code = main(["evaluate", "--model", str(path), "-n", "60", "--num-minimal", "20", "--norms", "linf",
                 "--eps-linf", "0.05,0.1", "--check-examples", "40", "--steps", "10", "--no-escalate",
                 "--out", str(tmp_path / "plain"), "--quiet"])
    assert code == 0
    plain = json.loads((tmp_path / "plain" / "report.json").read_text())
    assert not plain["suites"]
    top_plain = next(h for h in plain["headline"] if h["norm"] == "linf" and h["eps"] == 0.1)
    assert top_plain["robust_accuracy"] > top["robust_accuracy"] + 0.2


def test_envelope_is_the_per_point_minimum_and_optimality_measures_the_gap():
    a = torch.tensor([0.5, float("inf"), 1.0, 0.0])
    b = torch.tensor([0.7, 2.0, 0.5, 0.0])
    best = envelope({"a": a, "b": b})
    assert best.tolist() == [0.5, 2.0, 0.5, 0.0]
    assert optimality(best, best, 3.0) == 1.0
    # capped areas: a → (0.5 + 3 + 1 + 0)/4, envelope → (0.5 + 2 + 0.5 + 0)/4
    assert optimality(a, best, 3.0) == pytest.approx(3.0 / 4.5)
    d = per_point_distance(torch.tensor([0.3, 0.4, 0.2]), torch.tensor([True, False, True]),
                           torch.tensor([True, True, False]))
    assert d.tolist() == [pytest.approx(0.3), float("inf"), 0.0]


def test_a_minimal_attack_weaker_than_a_sweep_is_flagged():
    robust = torch.tensor([[True] * 10, [False] * 10])  # the sweep breaks all ten points at ε = 2
    sweep = {"attack": "pgd", "_res": SweepResult("l2", [1.0, 2.0], robust, torch.ones(10, dtype=torch.bool),
                                                  {}, {}, [10, 10])}
    index = torch.arange(10)
    weak = torch.full((10,), 5.0)  # the "minimal" attack needs 5 on every point
    strong = torch.full((10,), 1.5)
    assert not check_envelope_bounds_sweeps("l2", weak, index, [sweep]).passed
    assert check_envelope_bounds_sweeps("l2", strong, index, [sweep]).passed


def test_headline_names_the_attack_that_reached_the_lowest_accuracy():
    sweeps = [{"attack": "pgd", "norm": "linf", "eps": [0.1], "robust_accuracy": [0.6]}]
    suites = [{"suite": "standard", "norm": "linf", "eps": 0.1, "robust_accuracy": 0.4, "escalated": True}]
    rows = headline(sweeps, suites, {"linf": ([0.05], lambda e: 0.5 if e > 0.06 else 0.7)})
    top = {r["eps"]: r for r in rows}
    assert top[0.1]["attack"] == "standard suite (escalated)" and top[0.1]["robust_accuracy"] == 0.4
    assert top[0.05]["attack"] == "minimal-norm envelope" and top[0.05]["robust_accuracy"] == 0.7
    assert masked_norms([{"name": "non-zero input gradients", "passed": False, "norm": None}], ["linf", "l2"]) \
        == ["linf", "l2"]
    assert masked_norms([{"name": "the attack's loss rises", "passed": False, "norm": "l2"}], ["linf", "l2"]) == ["l2"]
