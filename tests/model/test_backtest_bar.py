"""The quality benchmark's bar: differences with intervals on every metric, read on data where
the truth is known (the true probability beats a noisy copy of it, which beats noise)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from models.backtest import BacktestResult, compare_scores, format_table, quality_bar
from models.evaluation import METRICS, auc_within_campaign, bootstrap_difference, bootstrap_differences
from tests.model.synthetic import make_examples, true_probability


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return make_examples(n_campaigns=4, per_campaign=800, seed=3)


def _noisy(p: np.ndarray, sd: float, seed: int) -> np.ndarray:
    logit = np.log(p / (1 - p)) + np.random.default_rng(seed).normal(0, sd, len(p))
    return 1 / (1 + np.exp(-logit))


def _bar(rows: pd.DataFrame, model: np.ndarray, logistic: np.ndarray):
    scores = {
        "model": model,
        "logistic": logistic,
        "v0_rule": _noisy(true_probability(rows), 3.0, 2),
        "random": np.random.default_rng(0).random(len(rows)),
    }
    metrics, vs, vs_rule = compare_scores(rows, scores, n_boot=100)
    result = BacktestResult(date(2017, 8, 8), rows[["household_id", "campaign_id"]], metrics, vs, vs_rule, [], 0)
    return quality_bar(result), format_table(result)


def test_one_bootstrap_differences_every_metric_like_the_single_metric_bootstrap(rows):
    y, c, h = rows["label"].to_numpy(), rows["campaign_id"].to_numpy(), rows["household_id"].to_numpy()
    a, b = _noisy(true_probability(rows), 1.0, 1), true_probability(rows)
    every = bootstrap_differences(METRICS, y, a, b, c, h, n_boot=50)
    assert set(every) == set(METRICS)
    assert every["auc_within_campaign"] == bootstrap_difference(auc_within_campaign, y, a, b, c, h, n_boot=50)
    same = bootstrap_differences(METRICS, y, a, a, c, h, n_boot=50)
    assert all(d.value == d.low == d.high == 0 for d in same.values())


def test_the_truth_meets_the_bar_against_a_noisy_logistic(rows):
    truth = true_probability(rows)
    bar, table = _bar(rows, truth, _noisy(truth, 1.5, 1))
    assert bar.met and not bar.worse_than_logistic and not bar.not_clearly_above_rule
    assert "clearly better than the past-redemption-rate rule (v0) on every metric: yes" in table


def test_a_model_worse_than_the_logistic_fails_the_bar_and_names_the_metrics(rows):
    truth = true_probability(rows)
    bar, table = _bar(rows, _noisy(truth, 1.5, 1), truth)
    assert not bar.met and not bar.as_good_as_logistic
    assert {"roc_auc", "auc_within_campaign", "log_loss"} <= set(bar.worse_than_logistic)
    assert "at least as good as the logistic regression on every metric: no" in table


def test_the_same_scores_as_the_logistic_are_as_good_on_every_point_estimate(rows):
    truth = true_probability(rows)
    bar, table = _bar(rows, truth, truth.copy())
    assert bar.behind_logistic == [] and bar.as_good_as_logistic
    assert "yes, on every point estimate" in table
