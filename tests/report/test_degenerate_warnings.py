"""Degenerate results are said, not passed silently: metrics on too few samples, a defence at chance."""
from __future__ import annotations

from robustgan.gan.defense_command import defense_warnings
from robustgan.gan.metrics import evaluate_samples, sample_warnings


def test_too_few_samples_for_kid_fid_and_precision_recall_are_named():
    words = sample_warnings(300, 300, dim=128, kid_subset_size=1000, k=3)
    assert len(words) == 1 and "overlap entirely" in words[0] and "kid_local_std" in words[0]
    assert sample_warnings(5000, 5000, dim=128, kid_subset_size=1000, k=3) == []
    small = sample_warnings(50, 60, dim=128, kid_subset_size=20, k=60)
    assert any("FID-local from 50 samples of 128-dimensional" in w for w in small)
    assert any("k = 60 neighbours among 50" in w for w in small)


def test_evaluate_samples_reports_its_warnings(fmnist):
    x = fmnist[0]
    out = evaluate_samples(x[:100], x[100:200], kid_subsets=4, kid_subset_size=1000)
    assert out["kid_local_std"] < 1e-6  # the degenerate value the warning is about
    assert any("kid_local_std says nothing" in w for w in out["warnings"])


def test_a_defence_at_chance_is_flagged():
    assert defense_warnings({"clean_accuracy_defended": 0.0}, 10)[0].startswith("the defended classifier's clean "
                                                                                "accuracy is 0.0%")
    assert defense_warnings({"clean_accuracy_defended": 0.8}, 10) == []
