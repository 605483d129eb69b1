"""The backtest's pooled, partly observed and per-campaign figures, recomputed independently
(plain numpy, by the definitions: every redeemer / non-redeemer pair, the precision at each
redeemer) on a small hand-made case: two fully observed campaigns, one half observed, one not
observed at all."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from models.backtest import backtest, format_table, observed_comparisons
from models.observed_window import FULL, PARTIAL, UNOBSERVED, RedemptionTiming, campaign_groups, window_offset
from models.training import TrainConfig
from tests.model.synthetic import make_examples

START = pd.Timestamp("2017-09-01")
END = pd.Timestamp("2017-09-10")  # a 10-day window: offsets are tenths


def _training_rows() -> pd.DataFrame:
    """Four training redeemers, first redeeming on days 1, 3, 6 and 9 of a 10-day window (and
    non-redeemers, whose missing date must not count): F(0.5) = 2/4, F(0.3) = 2/4, F(0.1) = 1/4."""
    days = [1, 3, 6, 9]
    return pd.DataFrame(
        {
            "label": [1, 1, 1, 1, 0, 0],
            "as_of_date": [START] * 6,
            "end_date": [END] * 6,
            "first_redemption_date": [START + pd.Timedelta(days=d - 1) for d in days] + [pd.NaT, pd.NaT],
        }
    )


def _scored(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    # (campaign, pairs, redeemers, censored, observed share)
    for cid, n, pos, censored, share in [(1, 60, 12, False, 1.0), (2, 40, 5, False, 1.0), (3, 50, 6, True, 0.5)]:
        frames.append(
            pd.DataFrame(
                {
                    "campaign_id": cid,
                    "household_id": rng.choice(1000, n, replace=False),
                    "label": np.r_[np.ones(pos, int), np.zeros(n - pos, int)],
                    "is_censored": censored,
                    "label_observed_share": share,
                    "label_is_final": np.r_[np.ones(pos, bool), np.full(n - pos, not censored)],
                    "campaign_type": "Type B",
                    "as_of_date": START,
                }
            )
        )
    # a campaign whose window has not started landing: all its pairs censored, none observed
    frames.append(
        pd.DataFrame(
            {
                "campaign_id": 4,
                "household_id": rng.choice(1000, 30, replace=False),
                "label": 0,
                "is_censored": True,
                "label_observed_share": 0.0,
                "label_is_final": False,
                "campaign_type": "Type A",
                "as_of_date": START,
            }
        )
    )
    return pd.concat(frames, ignore_index=True)


def roc_auc_score(y, p) -> float:
    """The share of (redeemer, non-redeemer) pairs the score orders correctly, ties half."""
    y, p = np.asarray(y, bool), np.asarray(p, float)
    diff = p[y][:, None] - p[~y][None, :]
    return float(((diff > 0) + 0.5 * (diff == 0)).mean())


def average_precision_score(y, p) -> float:
    """The mean, over redeemers, of the precision among the rows scored at least as high."""
    y, p = np.asarray(y, bool), np.asarray(p, float)
    return float(np.mean([(y & (p >= t)).sum() / (p >= t).sum() for t in p[y]]))


def _capture20(y: np.ndarray, p: np.ndarray, c: np.ndarray) -> float:
    reached = 0
    for cid in np.unique(c):
        yy, pp = y[c == cid], p[c == cid]
        k = int(np.ceil(0.2 * len(yy)))
        reached += yy[np.argsort(-pp)[:k]].sum()
    return reached / y.sum()


def test_window_offsets_and_timing_count_the_start_day_like_the_landed_share():
    train = _training_rows()
    np.testing.assert_allclose(window_offset(train[train["label"] == 1]), [0.1, 0.3, 0.6, 0.9])
    timing = RedemptionTiming.fit(train)
    shares = np.array([0.05, 0.1, 0.3, 0.5, 0.6, 0.95, 1.0])
    np.testing.assert_allclose(timing.share_within(shares), [0, 0.25, 0.5, 0.5, 0.75, 1, 1])
    assert campaign_groups(_scored()) == {1: FULL, 2: FULL, 3: PARTIAL, 4: UNOBSERVED}


def test_pooled_partial_and_per_campaign_figures_match_an_independent_recomputation():
    scored = _scored()
    rng = np.random.default_rng(1)
    # a score that ranks redeemers somewhat higher, continuous (no ties)
    base = np.clip(0.15 + 0.25 * scored["label"].to_numpy() + rng.normal(0, 0.15, len(scored)), 0.01, 0.99)
    scores = {"model": base, "logistic": rng.random(len(scored)), "v0_rule": rng.random(len(scored))}
    pooled, partial, table = observed_comparisons(scored, scores, RedemptionTiming.fit(_training_rows()), n_boot=20)

    # independently: campaign 4 has nothing observed and is left out; campaign 3 counts on its
    # observed half, its scores times F(0.5) = 0.5; nothing else is dropped or rescaled
    keep = scored["campaign_id"].isin([1, 2, 3]).to_numpy()
    y, c = scored["label"].to_numpy()[keep], scored["campaign_id"].to_numpy()[keep]
    p = np.where(c == 3, 0.5, 1.0) * base[keep]
    assert pooled is not None and pooled.campaigns == [1, 2, 3]
    m = pooled.metrics["model"]
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, p))
    assert m["pr_auc"] == pytest.approx(average_precision_score(y, p))
    assert m["capture_20"] == pytest.approx(_capture20(y, p, c))
    assert m["rows"] == len(y) == 150 and m["positives"] == 23
    per = {cid: roc_auc_score(y[c == cid], p[c == cid]) for cid in (1, 2, 3)}
    weighted = sum(per[k] * y[c == k].sum() for k in per) / y.sum()
    assert m["auc_within_campaign"] == pytest.approx(weighted)

    assert partial is not None and partial.campaigns == [3]
    assert partial.metrics["model"]["pr_auc"] == pytest.approx(average_precision_score(y[c == 3], p[c == 3]))
    assert partial.metrics["model"]["rows"] == 50

    t = table.set_index("campaign_id")
    assert list(t.index) == [1, 2, 3, 4] and t.loc[4, "group"] == UNOBSERVED and np.isnan(t.loc[4, "model"])
    for cid in (1, 2, 3):
        assert t.loc[cid, "model"] == pytest.approx(per[cid])
        assert t.loc[cid, "redeemers"] == y[c == cid].sum()
    # the difference from the logistic is paired on the same rows
    logistic = np.where(c == 3, 0.5, 1.0) * scores["logistic"][keep]
    assert pooled.vs_logistic["model"]["pr_auc"].value == pytest.approx(
        average_precision_score(y, p) - average_precision_score(y, logistic)
    )


def test_the_backtest_reports_every_campaign_after_the_cut_on_what_was_observed():
    """End to end on synthetic examples whose last two campaigns are partly and not observed."""
    ex = make_examples(n_campaigns=8, per_campaign=300, seed=5)
    last = ex["campaign_id"].max()
    ex.loc[ex["campaign_id"] == last - 1, ["is_censored", "label_observed_share"]] = (True, 0.6)
    ex.loc[ex["campaign_id"] == last, ["is_censored", "label_observed_share", "label"]] = (True, 0.0, 0)
    ex["label_is_final"] = ~ex["is_censored"] | (ex["label"] == 1)
    ex["label_observed_share"] = ex["label_observed_share"].where(ex["is_censored"], 1.0).astype(float)
    ex["first_redemption_date"] = (ex["as_of_date"] + pd.Timedelta(days=10)).where(ex["label"] == 1)
    cut = date(2017, 2, 1) + timedelta(days=21 * 5)  # campaigns 6, 7, 8 start on or after it
    fast = replace(TrainConfig(), max_epochs=20, patience=5, n_members=1)
    r = backtest(ex, cut, fast, n_boot=20)
    assert r.evaluated_campaigns == [6] and r.unobserved_campaigns == [8]
    assert r.pooled is not None and r.pooled.campaigns == [6, 7]
    assert r.partial is not None and r.partial.campaigns == [7]
    assert r.per_campaign is not None and list(r.per_campaign["campaign_id"]) == [6, 7, 8]
    # the pooled figures over campaigns 6 and 7 from the backtest's own scores, F fitted on its training rows
    scores = r.scores.set_index(["household_id", "campaign_id"])["score"]
    rows = ex[ex["campaign_id"].isin([6, 7])]
    p = scores.loc[list(zip(rows["household_id"], rows["campaign_id"]))].to_numpy()
    f = (10 + 1) / 31  # every synthetic redeemer redeemed on day 11 of a 31-day window: F(0.6) = 1
    assert f < 0.6
    assert r.pooled.metrics["model"]["roc_auc"] == pytest.approx(roc_auc_score(rows["label"], p))
    assert r.metrics["model"]["rows"] == 300 and r.pooled.metrics["model"]["rows"] == 600
    text = format_table(r)
    assert "pooled over every campaign after the cut" in text and "partly observed campaigns alone" in text
    assert "not yet observed (nothing of the window landed), not evaluated: [8]" in text
