"""``robustgan experiment robust-features`` end to end at the tiny scale, and its resumability."""
from __future__ import annotations

import json

import pytest

from robustgan.cli import main
from robustgan.experiment import SCALES, resolve


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("robust-features")
    args = ["experiment", "robust-features", "--scale", "tiny", "--out", str(out), "--quiet",
            "--train-images", "256", "--craft-count", "32", "--shard-size", "16", "--eval-images", "100",
            "--threat", "linf:0.1", "--threat", "l2:1"]
    assert main(args) == 0
    return out, args


def test_tiny_run_writes_the_table_as_markdown_and_json(tiny_run, capsys):
    out, _ = tiny_run
    results = json.loads((out / "results.json").read_text())
    keys = [r["key"] for r in results["rows"]]
    assert keys == ["standard", "robust", "baseline", "data-robust", "data-nonrobust", "data-rand", "data-det"]
    assert results["threats"] == ["linf:0.1", "l2:1"]
    for r in results["rows"]:
        assert 0 <= r["robust_accuracy"] <= r["standard_accuracy"] <= 1
        assert r["robust_accuracy"] == r["robust_accuracies"]["linf:0.1"]
        assert 0 <= r["robust_accuracies"]["l2:1"] <= r["standard_accuracy"]
        assert len(r["fingerprint"]) == 16
    assert results["test_images"] == 100 and results["scale"]["craft_count"] == 32
    assert set(results["datasets"]) == {"robust", "nonrobust", "rand", "det"}
    assert all(d["complete"] and d["count"] == 32 for d in results["datasets"].values())
    table = (out / "table.md").read_text()
    for name in ("| D_R |", "| D_NR |", "| D_rand |", "| D_det |", "| D, PGD-AT |"):
        assert name in table
    assert "robust acc. L∞ ε=0.1 (%) | robust acc. L2 ε=1 (%)" in table
    assert (out / "data" / "det" / "manifest.json").exists()


def test_a_rerun_reuses_every_model_and_shard(tiny_run, capsys):
    out, args = tiny_run
    before = json.loads((out / "results.json").read_text())
    assert main(args) == 0
    after = json.loads((out / "results.json").read_text())
    assert [r["fingerprint"] for r in after["rows"]] == [r["fingerprint"] for r in before["rows"]]
    assert [r["standard_accuracy"] for r in after["rows"]] == [r["standard_accuracy"] for r in before["rows"]]
    assert before["trained_now"] == ["standard", "robust", "baseline", "data-robust", "data-nonrobust",
                                     "data-rand", "data-det"]
    assert after["trained_now"] == [] and set(after["crafted_shards_now"].values()) == {0}  # nothing redone


def test_given_checkpoints_replace_training_and_bad_knobs_fail(tiny_run, tmp_path, capsys):
    out, _ = tiny_run
    assert main(["experiment", "robust-features", "--scale", "tiny", "--out", str(tmp_path), "--quiet",
                 "--standard-model", str(out / "models" / "standard-n256-e1.pt"), "--robust-model",
                 str(out / "models" / "robust-n256-e1.pt"), "--datasets", "det", "--craft-count", "16", "--shard-size", "16",
                 "--eval-images", "50"]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert [r["key"] for r in results["rows"]] == ["standard", "robust", "baseline", "data-det"]
    assert results["threats"] == ["linf:0.1"]  # the training threat when none is given
    assert results["rows"][0]["model"].endswith("standard-n256-e1.pt")
    assert results["trained_now"] == ["baseline", "data-det"]
    assert main(["experiment", "robust-features", "--scale", "huge", "--out", str(tmp_path)]) == 2
    assert main(["experiment", "robust-features", "--scale", "tiny", "--fresh-epochs", "0", "--out", str(tmp_path)]) == 2
    capsys.readouterr()
    assert main(["experiment", "robust-features", "--scale", "tiny", "--fresh-shift", "-1", "--out", str(tmp_path / "bad")]) == 2
    assert "fresh_shift must be" in capsys.readouterr().err and not (tmp_path / "bad").exists()  # refused up front
    assert main(["experiment", "robust-features", "--scale", "tiny", "--datasets", "cats", "--out", str(tmp_path)]) == 2
    for bad in ("l3:0.1", "linf", "l2:-1", "linf:x"):
        with pytest.raises(SystemExit):
            main(["experiment", "robust-features", "--scale", "tiny", "--threat", bad, "--out", str(tmp_path)])
    assert SCALES["small"].craft_count > SCALES["tiny"].craft_count
    assert resolve("tiny", {"fresh_epochs": 3}).fresh_epochs == 3


def test_threats_are_checked_and_deduplicated():
    from robustgan.experiment.robust_features import check_threats, threat_label

    assert check_threats([("linf", 0.1), ("linf", 0.1), ("l2", 1)]) == [("linf", 0.1), ("l2", 1.0)]
    assert [threat_label(t) for t in check_threats([("l2", 0.5), ("linf", 8 / 255)])] == ["l2:0.5", "linf:0.0313725"]
    for bad in ([("l3", 0.1)], [("linf", 0)], [("linf", float("inf"))], [("linf",)], []):
        with pytest.raises(ValueError):
            check_threats(bad)


def test_growing_the_crafted_sets_crafts_only_new_shards_and_trains_new_models(tiny_run, tmp_path, capsys):
    out, _ = tiny_run
    args = ["experiment", "robust-features", "--scale", "tiny", "--out", str(tmp_path), "--quiet",
            "--standard-model", str(out / "models" / "standard-n256-e1.pt"), "--robust-model",
            str(out / "models" / "robust-n256-e1.pt"), "--datasets", "det", "--shard-size", "16", "--eval-images", "50"]
    assert main(args + ["--craft-count", "16"]) == 0
    assert main(args + ["--craft-count", "32"]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["crafted_shards_now"] == {"det": 1}  # the first shard was kept
    assert results["trained_now"] == ["baseline", "data-det"]  # the 16-image models were not reused
    assert [r["train_examples"] for r in results["rows"][2:]] == [32, 32]
    assert (tmp_path / "models" / "data-det-n16-e2.pt").exists() and (tmp_path / "models" / "data-det-n32-e2.pt").exists()
    assert main(args + ["--craft-count", "32", "--fresh-epochs", "1"]) == 0  # other epochs: new models, same data
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["trained_now"] == ["baseline", "data-det"] and results["crafted_shards_now"] == {"det": 0}
    assert (tmp_path / "models" / "data-det-n32-e1.pt").exists()
    assert main(args + ["--craft-count", "32", "--fresh-epochs", "1", "--fresh-shift", "2"]) == 0  # shifted: new models
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["trained_now"] == ["baseline", "data-det"] and results["fresh_shift"] == 2
    assert (tmp_path / "models" / "data-det-n32-e1-s2.pt").exists()
    assert "each image shifted by up to 2 px" in (tmp_path / "table.md").read_text()


def test_the_inversions_match_the_layer_given(tiny_run, tmp_path, capsys):
    out, _ = tiny_run
    args = ["experiment", "robust-features", "--scale", "tiny", "--out", str(tmp_path), "--quiet",
            "--standard-model", str(out / "models" / "standard-n256-e1.pt"), "--robust-model",
            str(out / "models" / "robust-n256-e1.pt"), "--datasets", "robust", "--craft-count", "16",
            "--shard-size", "16", "--eval-images", "50"]
    assert main(args + ["--layer", "model.nope"]) == 2  # a layer the model does not have
    assert main(args + ["--layer", "model.features"]) == 0
    manifest = json.loads((tmp_path / "data" / "robust" / "manifest.json").read_text())
    assert manifest["params"]["layer"] == "model.features"
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["datasets"]["robust"]["params"]["layer"] == "model.features"
