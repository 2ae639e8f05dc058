import math

import numpy as np
import pytest

from xbehavior.models.metrics import aggregate_seeds, best_f1_threshold, binary_metrics

Y = np.array([0, 0, 1, 1])
P = np.array([0.1, 0.4, 0.35, 0.8])


def test_binary_metrics_hand_worked():
    m = binary_metrics(Y, P, threshold=0.5)
    # pos/neg pairs: 0.35>0.1, 0.35<0.4, 0.8>both -> 3 of 4
    assert m["roc_auc"] == pytest.approx(0.75)
    # ranked 0.8(+), 0.4(-), 0.35(+): AP = 0.5*1 + 0.5*(2/3)
    assert m["pr_auc"] == pytest.approx(0.5 + 0.5 * 2 / 3)
    # predictions [0,0,0,1]: TP=1, FP=0, FN=1
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["accuracy"] == pytest.approx(0.75)
    assert m["brier"] == pytest.approx((0.01 + 0.16 + 0.4225 + 0.04) / 4)
    ll = -(math.log(0.9) + math.log(0.6) + math.log(0.35) + math.log(0.8)) / 4
    assert m["log_loss"] == pytest.approx(ll)
    assert (m["base_rate"], m["n"], m["n_pos"]) == (0.5, 4, 2)


def test_best_f1_threshold_hand_worked():
    # at 0.35: predictions [0,1,1,1] -> TP=2, FP=1 -> F1 0.8, the best cut
    assert best_f1_threshold(Y, P) == pytest.approx(0.35)
    assert best_f1_threshold(np.zeros(3), np.array([0.1, 0.2, 0.3])) == 0.5


def test_single_class_gives_nan_auc():
    m = binary_metrics(np.zeros(3), np.array([0.1, 0.2, 0.3]))
    assert math.isnan(m["roc_auc"]) and m["accuracy"] == 1.0


def test_aggregate_seeds_mean_and_sample_std():
    runs = [{"model": "a", "seed": 0, "roc_auc": 0.7}, {"model": "a", "seed": 1, "roc_auc": 0.9},
            {"model": "b", "seed": 0, "roc_auc": 0.6}, {"model": "b", "seed": 1, "roc_auc": 0.6}]
    out = aggregate_seeds(runs, by=["model"]).set_index("model")
    assert out.loc["a", "roc_auc_mean"] == pytest.approx(0.8)
    assert out.loc["a", "roc_auc_std"] == pytest.approx(math.sqrt(0.02))
    assert out.loc["b", "roc_auc_std"] == 0.0
    assert out.loc["a", "n_seeds"] == 2
    assert "seed_mean" not in out.columns
