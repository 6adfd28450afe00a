"""Provenance attribution: calibration, decisions, ROC/AUC, and the end-to-end `robustgan attribute` run."""
from __future__ import annotations

import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from robustgan.cli import main
from robustgan.gan.inversion import NONE, calibrate_threshold, confusion_matrix, decide, roc_curve, summarize
from test_inversion import cached_generators


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=60), st.floats(0, 0.99))
def test_calibrated_threshold_lets_at_most_the_chosen_share_of_negatives_through(scores, fpr):
    s = torch.tensor(scores, dtype=torch.double)
    t = calibrate_threshold(s, fpr)
    assert float((s < t).double().mean()) <= fpr + 1e-9
    # and it is tight: t is one of the scores, and accepting it too would exceed the rate
    assert bool((s == t).any()) and float((s <= t).double().mean()) > fpr


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.booleans()), min_size=2, max_size=50))
def test_roc_auc_matches_scikit_learn_with_ties(pairs):
    scores = torch.tensor([float(p[0]) for p in pairs])
    labels = torch.tensor([p[1] for p in pairs])
    if labels.all() or (~labels).all():
        with pytest.raises(ValueError, match="positive and one negative"):
            roc_curve(scores, labels)
        return
    r = roc_curve(scores, labels)
    assert r["auc"] == pytest.approx(roc_auc_score(labels.numpy(), scores.numpy()), abs=1e-12)
    assert r["fpr"][0] == 0 and r["tpr"][0] == 0 and r["fpr"][-1] == 1 and r["tpr"][-1] == 1
    assert all(a <= b for a, b in zip(r["fpr"], r["fpr"][1:])) and all(a <= b for a, b in zip(r["tpr"], r["tpr"][1:]))


def test_decisions_confusion_and_summary():
    residuals = torch.tensor([[0.001, 0.5, 0.3, 0.2],
                              [0.4, 0.002, 0.3, 0.05]])
    att = decide(residuals, threshold=0.1)
    assert att.decision.tolist() == [0, 1, NONE, 1]
    truth = torch.tensor([0, 1, NONE, NONE])
    cm = confusion_matrix(truth, att.decision, 2)
    assert cm.tolist() == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
    rep = summarize(att, truth, ["a", "b"])
    assert rep["accuracy_generated"] == 1.0 and rep["real_labelled_none"] == 0.5
    assert rep["auc"]["generated vs real"] == 1.0 and set(rep["auc"]) == {"a", "b", "generated vs real"}
    with pytest.raises(ValueError, match="NaN"):
        decide(torch.tensor([[float("nan")]]), 0.1)
    with pytest.raises(ValueError, match="fpr"):
        calibrate_threshold(torch.rand(5), 1.0)
    with pytest.raises(ValueError, match="names"):
        summarize(att, truth, ["a"])


def test_attribute_command_among_three_seeds_of_one_architecture(tmp_path_factory, tmp_path, capsys):
    """Three same-architecture generators (seeds 0, 1, 2) and real test images, end to end through the CLI."""
    paths = cached_generators(tmp_path_factory)
    out = tmp_path / "att"
    argv = ["attribute", *sum((["--generator", str(p)] for p in paths), []), "--num-generated", "8",
            "--num-real", "24", "--num-calibration", "40", "--fpr", "0.05", "--restarts", "3", "--steps", "150",
            "--threads", "1", "--out", str(out), "--quiet"]
    threads = torch.get_num_threads()
    try:
        assert main(argv) == 0
    finally:
        torch.set_num_threads(threads)
    report = json.loads((out / "report.json").read_text())
    assert report["generated_images"] == 24 and report["real_images"] == 24
    assert report["accuracy_generated"] >= 0.95, report["confusion"]
    assert report["real_labelled_none"] >= 0.9, report["confusion"]
    assert report["calibration_fpr"] <= 0.05
    assert min(report["auc"].values()) > 0.95
    assert sum(map(sum, report["confusion"]["matrix"])) == 48 and len(report["images"]) == 48
    q = report["residual_quantiles"]
    assert q["generated_under_own_generator"]["q50"] < 0.1 * q["generated_under_other_generators"]["q05"]
    for name in ("roc.png", "confusion.png", "reconstructions.png"):
        assert (out / name).stat().st_size > 1000, name
    page = (out / "report.html").read_text()  # one page, the three figures inside it
    assert page.count("data:image/png;base64,") == 3 and f"{report['auc'][next(iter(report['auc']))]:.4g}" in page
    assert report["command"].startswith("robustgan attribute --generator")

    # attributing a file of images with a given threshold: decisions only
    from robustgan.gan import load_generator
    from robustgan.gan.metrics import generate

    images = torch.cat([generate(load_generator(paths[2]), 2, seed=99), torch.zeros(1, 1, 28, 28)])
    torch.save({"images": images}, tmp_path / "imgs.pt")
    assert main(["attribute", *argv[1:7], "--images", str(tmp_path / "imgs.pt"), "--threshold",
                 str(report["threshold"]), "--restarts", "3", "--steps", "150", "--out", str(tmp_path / "file"),
                 "--quiet"]) == 0
    decisions = json.loads((tmp_path / "file" / "report.json").read_text())["decisions"]
    assert decisions[:2] == ["G2", "G2"]


def test_invert_command_writes_latents_and_reconstructions(tmp_path_factory, tmp_path):
    paths = cached_generators(tmp_path_factory)
    out = tmp_path / "inv"
    assert main(["invert", "--generator", str(paths[0]), "--from-generator", str(paths[0]), "-n", "3", "--steps", "300",
                 "--threads", "1", "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "inversion.json").read_text())
    assert max(summary["latent_relative_error"][0]) < 0.1
    saved = torch.load(out / "inversion.pt", weights_only=True)
    assert saved["latents"].shape == (1, 3, 32) and (out / "reconstructions.png").stat().st_size > 500
    from PIL import Image

    assert min(Image.open(out / "reconstructions.png").size) >= 250  # two captioned rows, legible
    assert main(["invert", "--generator", str(paths[0]), "-n", "2", "--steps", "2", "--out", str(tmp_path / "d"),
                 "--quiet"]) == 0
    assert main(["invert", "--generator", str(tmp_path / "missing.pt"), "--out", str(tmp_path / "x")]) == 2
    assert main(["attribute", "--generator", str(paths[0]), "--fpr", "1.5", "--out", str(tmp_path / "y")]) == 2


def test_attribute_refuses_the_same_generator_given_twice(tmp_path_factory, tmp_path, capsys):
    """The same weights under two names would tie on every image: a one-line error, nothing written."""
    first = cached_generators(tmp_path_factory)[0]
    copy = tmp_path / "copy.pt"
    copy.write_bytes(first.read_bytes())
    out = tmp_path / "att"
    assert main(["attribute", "--generator", str(first), "--generator", str(copy), "--out", str(out),
                 "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "same weights" in err[0] and str(copy) in err[0]
    assert not out.exists() or not any(out.iterdir())
