"""household_features from running aggregates (int_household_days, int_household_firsts): a run
of incremental builds gives exactly, bit for bit, what one full refresh gives, on a synthetic
world; and the features equal a recomputation from the basket lines by their definitions.

Exactness is the point: the day sums are decimals and integers, cast to double once, so the order
in which days arrive (one at a time, or a catch-up of weeks) cannot move a bit of a feature.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pytest

from couponflow.app.ingest import land_through
from couponflow.platform.config import load_settings
from couponflow.platform.sources.synthetic import SyntheticSource
from couponflow.platform.storage import LocalStore
from couponflow.platform.warehouse import expose_lake, run_dbt
from tests.data.offer_affinity import affinity_and_definition

HOUSEHOLDS = 200
# the world of seed 0 starts campaigns on 2017-01-22, 02-07 and 03-07: a first build through
# 02-05 holds the first as-of date, one day alone adds the second, a month's catch-up the third
FIRST = date(2017, 2, 5)
STEPS = [date(2017, 2, 6), date(2017, 3, 6)]
RUNNING = ["intermediate.int_household_days", "intermediate.int_household_firsts"]
EXACT = [*RUNNING, "marts.household_features", "marts.offer_features", "marts.scoring_candidates"]


def _table(con: duckdb.DuckDBPyConnection, name: str) -> pd.DataFrame:
    df = con.execute(f"select * from {name}").df()
    return df.sort_values(list(df.columns)).reset_index(drop=True)


@pytest.fixture(scope="module")
def homes(tmp_path_factory):
    world = SyntheticSource(HOUSEHOLDS, seed=0)
    base = tmp_path_factory.mktemp("running")
    daily, full = load_settings(home=base / "daily"), load_settings(home=base / "full")
    # dbt run, not build: the models' tests run in the real year's builds (test_marts.py)
    for settings, days, args in ((daily, [FIRST, *STEPS], ()), (full, [STEPS[-1]], ("--full-refresh",))):
        store = LocalStore(settings.lake_dir)
        for d in days:
            land_through(store, world, d)
            expose_lake(settings, store)
            run_dbt(settings, "run", *args)
    cons = {k: duckdb.connect(str(s.warehouse_path)) for k, s in {"daily": daily, "full": full}.items()}
    yield cons
    for con in cons.values():
        con.close()


def test_incremental_running_aggregates_equal_a_full_refresh_bit_for_bit(homes):
    for name in EXACT:
        a, b = _table(homes["daily"], name), _table(homes["full"], name)
        assert len(a) > 0, name
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=name)
    dates = homes["daily"].execute("select distinct as_of_date from marts.household_features order by 1").fetchall()
    assert [d for (d,) in dates] == [date(2017, 1, 22), date(2017, 2, 7), date(2017, 3, 7)]


def test_a_day_adds_only_what_is_new(homes):
    """One row per household and shopping day; each item once, on the day it was first bought."""
    con = homes["daily"]
    days, pairs = con.execute(
        "select count(*), count(distinct (household_id, transaction_date)) from intermediate.int_household_days"
    ).fetchone()
    assert days == pairs > 0
    firsts, distinct = con.execute(
        "select count(*), count(distinct (household_id, item_kind, item)) from intermediate.int_household_firsts"
    ).fetchone()
    assert firsts == distinct > 0
    (wrong,) = con.execute("""
        select count(*) from intermediate.int_household_firsts f
        join (select household_id, cast(product_id as varchar) as item, min(transaction_date) as first_date
              from staging.stg_transactions group by 1, 2) t using (household_id, item)
        where f.item_kind = 'product' and f.first_date <> t.first_date
    """).fetchone()
    assert wrong == 0


def test_features_equal_their_definitions_on_the_basket_lines(homes):
    """The old definition, written over every basket line (decimal sums): the running aggregates
    give the same values, exactly."""
    con = homes["full"]
    recomputed = con.execute("""
        with d as (select distinct as_of_date from marts.household_features),
        l as (
            select d.as_of_date, t.*, p.is_private_label,
                   case when p.department in ('MEAT', 'MEAT-PCKGD') then 'MEAT' else p.department end as dep,
                   datediff('day', t.transaction_date, d.as_of_date) as age
            from d join staging.stg_transactions t on t.transaction_date < d.as_of_date
            left join marts.products p using (product_id)
        )
        select as_of_date, household_id,
               count(distinct basket_id) filter (where age <= 30) as baskets_30d,
               count(distinct basket_id) as baskets_all,
               cast(coalesce(sum(sales_value) filter (where age <= 90), 0) as double) as spend_90d,
               count(distinct product_id) filter (where age <= 90) as n_products_90d,
               count(distinct product_id) as n_products_all,
               count(distinct store_id) as n_stores,
               count(distinct dep) as n_departments,
               min(age) as days_since_last_purchase,
               coalesce(cast(sum(sales_value) filter (where is_private_label) as double)
                        / nullif(cast(sum(sales_value) as double), 0), 0) as private_label_share,
               coalesce(cast(sum(sales_value) filter (where dep = 'GROCERY') as double)
                        / nullif(cast(sum(sales_value) as double), 0), 0) as dept_share_grocery
        from l group by 1, 2 order by 1, 2
    """).df()
    features = con.execute(f"select {', '.join(recomputed.columns)} from marts.household_features order by 1, 2").df()
    assert len(features) > 2 * HOUSEHOLDS
    pd.testing.assert_frame_equal(features, recomputed, check_exact=True, check_dtype=False)


def test_offer_affinity_equals_its_definition_on_the_basket_lines(homes):
    """Daily builds of the staged affinity equal the mart's old definition over the lines (the
    world's 65 days leave the 90-day windows unexercised: test_marts checks them on the year)."""
    features, recomputed = affinity_and_definition(homes["daily"])
    assert (features["aff_coupons_touched_all"] > 1).any() and (features["aff_coupon_baskets_all"] > 0).any()
    assert (features["aff_products_90d"] > features["aff_products_30d"]).any()
    pd.testing.assert_frame_equal(features, recomputed, check_exact=True, check_dtype=False)
