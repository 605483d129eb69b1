"""Behavioural segments through the real report writer on the real year (a lake of its own on
the shared warehouse): the fits and the segments of each decided date are published once and
give the same bytes again; the report's section matches a recomputation from the published
decision logs, the published segments and the raw redemptions; an open window is censored."""

from __future__ import annotations

import io
import json
from datetime import date

import pandas as pd
import pyarrow.parquet as pq
import pytest

from couponflow.app import report
from couponflow.app.erasure import _scan
from couponflow.app.publishing import publish_campaign, published_decisions
from couponflow.app.segments import household_segments, published_segments, segmentations
from couponflow.platform import manifest
from couponflow.platform.lake import SEGMENTATION, SEGMENTS, dated_prefix, segmentation_prefix
from couponflow.platform.resources import Resources
from couponflow.platform.storage import LocalStore
from models.scoring import v0_scorer
from models.segments import SEGMENT_FEATURES, fit_segmentation
from tests.helpers import decide_day

D = date(2017, 10, 30)  # campaign 18 starts; the fit of 2017-07-12 (the year's only one) is in force
CLOSED_DAY = date(2017, 8, 8)  # campaign 13, window closed on 2017-09-24
OPEN_DAY = date(2017, 10, 18)  # campaign 17, window open until 2017-11-19
CUTS = [date(2017, 7, 12)]  # the first as-of date with 26 weeks of history; yearly refits


@pytest.fixture(scope="module")
def lake(landed_year, tmp_path_factory):
    base = landed_year["res"]
    store = LocalStore(tmp_path_factory.mktemp("segments-lake"))
    res = Resources(base.settings, store, base.source, base.warehouse)
    scorer = v0_scorer(base.settings.prior_strength)
    for day in (CLOSED_DAY, OPEN_DAY, D):
        publish_campaign(store, base.settings, decide_day(res, day, scorer))
    ds = report.write_report(res, D)
    content = json.loads(manifest.read_object(store, ds, report.DATA))
    return res, store, ds, content["behaviour_segments"]


def test_the_fit_is_published_once_and_equals_a_fresh_fit(lake):
    res, store, _, section = lake
    assert sorted(segmentations(res, D)) == CUTS
    assert section["fit"]["cut"] == "2017-07-12"
    cut = CUTS[-1]
    stored = json.loads(manifest.read_object(store, manifest.read(store, segmentation_prefix(cut)), SEGMENTATION))
    cols = ", ".join(("household_id", *SEGMENT_FEATURES, "avg_basket_value_all"))
    fresh = fit_segmentation(
        res.warehouse.query(f"select {cols} from marts.household_features where as_of_date = ?", [cut]), cut
    )
    assert stored == json.loads(json.dumps(fresh.to_dict()))
    assert section["fit"]["names"] == fresh.names and len(set(fresh.names)) == fresh.k


def test_a_rerun_gives_the_same_bytes(lake):
    res, store, ds, _ = lake
    before = {p: manifest.read(store, p).manifest for p in (dated_prefix(SEGMENTS, D), segmentation_prefix(CUTS[-1]))}
    again = report.write_report(res, D)
    assert again.manifest == ds.manifest  # report.json and the page included
    for prefix, m in before.items():
        assert manifest.read(store, prefix).manifest == m
    # the published table is what the fold computes from the warehouse, for exactly D's households
    table = published_segments(res, D)
    fold = household_segments(res, D)
    dec = published_decisions(store, D)[0]
    assert sorted(table["household_id"]) == sorted(dec["household_id"].unique())
    pd.testing.assert_frame_equal(
        table.reset_index(drop=True),
        fold[fold["household_id"].isin(dec["household_id"])].reset_index(drop=True),
    )
    # forget would rewrite it: the erasure scan finds a household of it there
    h = int(table["household_id"].iloc[0])
    assert dated_prefix(SEGMENTS, D) in {t.prefix for t in _scan(store, h, set())}


def _segments_of(store, day: date) -> pd.DataFrame:
    ds = manifest.read(store, dated_prefix(SEGMENTS, day))
    return pq.read_table(io.BytesIO(manifest.read_object(store, ds, "segments.parquet"))).to_pandas()


def test_todays_rows_match_a_recomputation(lake):
    _, store, _, section = lake
    dec = published_decisions(store, D)[0].merge(_segments_of(store, D), on="household_id")
    expect = {}
    for name, g in dec.groupby("segment"):
        sent = g[g["chosen"]]
        expect[name] = (g["household_id"].nunique(), len(sent), sent["score"].sum(), sent["expected_cost"].sum())
    got = {r["segment"]: r for r in section["today"]}
    assert set(got) == set(expect)
    for name, (cands, sends, exp_red, exp_cost) in expect.items():
        r = got[name]
        assert (r["candidate_households"], r["sends"]) == (cands, sends)
        assert r["expected_redemptions"] == pytest.approx(exp_red, abs=1e-5)
        assert r["expected_cost"] == pytest.approx(exp_cost, abs=1e-5)
    assert sum(r["sends"] for r in section["today"]) == int(published_decisions(store, D)[0]["chosen"].sum())


def test_the_closed_campaign_matches_the_raw_redemptions_and_the_open_one_is_censored(lake):
    res, store, _, section = lake
    rows = [r for r in section["campaigns"] if r["campaign_id"] == 13]
    assert rows and all(r["status"] == "closed" and r["actual_cost"] is None for r in rows)  # recorded history
    # the label rule from the staged redemptions: campaign 13, dated in [2017-08-08, 2017-09-24]
    red = res.warehouse.query(
        "select distinct household_id from staging.stg_coupon_redemptions where campaign_id = 13 "
        "and redemption_date between date '2017-08-08' and date '2017-09-24'"
    )
    redeemers = set(red["household_id"].astype(int))
    dec = published_decisions(store, CLOSED_DAY)[0]
    dec = dec[dec["campaign_id"] == 13].merge(_segments_of(store, CLOSED_DAY), on="household_id")
    for r in rows:
        g = dec[dec["segment"] == r["segment"]]
        sent = set(g.loc[g["chosen"], "household_id"].astype(int))
        among = redeemers & set(g["household_id"].astype(int))
        assert r["sends"] == len(sent) and r["redeemed"] == len(sent & redeemers)
        assert r["redeemers_among_candidates"] == len(among)
        assert r["capture"] == (pytest.approx(len(sent & redeemers) / len(among)) if among else None)
    assert sum(r["redeemed"] for r in rows) > 0  # the check saw redemptions
    open_rows = [r for r in section["campaigns"] if r["campaign_id"] == 17]
    assert open_rows and all(r["status"] == "open" and r["redeemed"] is None for r in open_rows)
    assert open_rows[0]["observed_share"] == pytest.approx(12 / 33)  # 2017-10-18 .. 10-29 of 33 days
    page = manifest.read_object(store, manifest.read(store, dated_prefix("reports", D)), report.INDEX).decode()
    assert "Behavioural segments" in page and "censored" in page
