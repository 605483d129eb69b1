"""Behavioural segments on the real year: data that does not touch household H leaves H's
segment where it was (the issue: "stable ... under data that does not change a household").

On a copy of the landed year's warehouse, 150 other households get extra shopping days after
the fitting cut (copies of their own baskets of the following weeks, one day later, under new
basket ids); dbt rebuilds the household history and features from the staged lines; then every
household not among them keeps its features on every as-of date and its segment on the run
date, bit for bit, while the touched households' features do move and some of them change
segment (so the test can see a change). The fit (2017-07-12, before any change) is the same.
"""

from __future__ import annotations

import shutil
from datetime import date

import numpy as np
import pandas as pd
import pytest

from couponflow.app.segments import household_segments, segmentations
from couponflow.platform.config import load_settings
from couponflow.platform.resources import Resources
from couponflow.platform.storage import LocalStore
from couponflow.platform.warehouse import Warehouse, run_dbt
from models.segments import SEGMENT_FEATURES

CUT = date(2017, 7, 12)  # the year's only fit
D = date(2017, 10, 30)
FEATURES = "household_features"


@pytest.fixture(scope="module")
def worlds(landed_year, tmp_path_factory):
    base = landed_year["res"]
    tmp = tmp_path_factory.mktemp("segments-real")
    settings = load_settings(home=tmp / "home")
    settings.home_dir.mkdir(parents=True)
    shutil.copyfile(base.settings.warehouse_path, settings.warehouse_path)
    copy = Warehouse(settings)
    with copy.session() as con:
        touched = [
            int(h)
            for (h,) in con.execute(
                "select distinct household_id from staging.stg_transactions where transaction_date > ? "
                "order by (household_id * 7919) % 10007 limit 150",  # a fixed arbitrary sample
                [CUT],
            ).fetchall()
        ]
        ids = ", ".join(str(h) for h in touched)
        con.execute(
            f"""
            insert into staging.stg_transactions
            select * replace (basket_id + 100000000000 as basket_id,
                              transaction_timestamp + interval 1 day as transaction_timestamp,
                              transaction_date + 1 as transaction_date)
            from staging.stg_transactions
            where household_id in ({ids}) and transaction_date > ? and transaction_date < ? - 1
            """,
            [CUT, D],
        )
    result = run_dbt(
        settings, "run", "--full-refresh", "--select", "int_household_days int_household_firsts household_features"
    )
    assert set(result.summary) == {"success"}, result.summary
    before = Resources(base.settings, LocalStore(tmp / "lake-before"), base.source, base.warehouse)
    after = Resources(settings, LocalStore(tmp / "lake-after"), base.source, copy)
    return before, after, set(touched)


def _features(res: Resources) -> pd.DataFrame:
    cols = ", ".join(("household_id", "as_of_date", *SEGMENT_FEATURES))
    return res.warehouse.query(f"select {cols} from marts.{FEATURES} where as_of_date <= ? order by 2, 1", [D])


def test_households_the_added_data_does_not_touch_keep_their_features_and_segments(worlds):
    before, after, touched = worlds
    fb, fa = _features(before), _features(after)
    assert len(fb) == len(fa)
    other_b, other_a = fb[~fb["household_id"].isin(touched)], fa[~fa["household_id"].isin(touched)]
    pd.testing.assert_frame_equal(other_b.reset_index(drop=True), other_a.reset_index(drop=True), check_exact=True)
    moved = fb[fb["household_id"].isin(touched)].reset_index(drop=True) != fa[
        fa["household_id"].isin(touched)
    ].reset_index(drop=True)
    assert moved.any(axis=1).mean() > 0.3  # the touched households' features did move

    fits_b, fits_a = segmentations(before, D), segmentations(after, D)
    assert list(fits_b) == [CUT] == list(fits_a)
    assert fits_b[CUT].to_dict() == fits_a[CUT].to_dict()  # the fit predates every change
    sb = household_segments(before, D).set_index("household_id")
    sa = household_segments(after, D).set_index("household_id")
    assert sb.index.equals(sa.index)
    others = ~sb.index.isin(list(touched))
    assert others.sum() > 2000
    pd.testing.assert_frame_equal(sb[others], sa[others])
    changed = (sb.loc[~others, "segment_id"] != sa.loc[~others, "segment_id"]).to_numpy()
    assert np.any(changed), "no touched household changed segment: the test could not see a change"
