"""The next date to decide after a crash: a date whose campaign is published but whose run died
before its report and ``campaigns/latest.json`` comes next again (the re-run reuses the campaign
and completes it); moving on to the day after left it without a report forever."""

from __future__ import annotations

import json
from datetime import date

import pyarrow as pa

from couponflow.platform import manifest
from couponflow.platform.lake import CAMPAIGNS, LATEST_CAMPAIGN, dated_prefix
from couponflow.platform.schedule import next_run_date
from couponflow.platform.storage import LocalStore

FIRST = date(2017, 1, 1)


def test_an_unfinished_latest_date_comes_next_again(tmp_path):
    store = LocalStore(tmp_path / "lake")
    assert next_run_date(store, FIRST) == date(2017, 1, 2)
    for day in (date(2017, 1, 2), date(2017, 1, 3)):
        manifest.publish(
            store,
            dated_prefix(CAMPAIGNS, day),
            {"sends.parquet": manifest.parquet_bytes(pa.table({"household_id": [1]}))},
            {"kind": "campaign"},
        )
    store.put(LATEST_CAMPAIGN, json.dumps({"run_date": "2017-01-02"}).encode())
    assert next_run_date(store, FIRST) == date(2017, 1, 3)  # 01-03's run died before latest.json
    store.put(LATEST_CAMPAIGN, json.dumps({"run_date": "2017-01-03"}).encode())
    assert next_run_date(store, FIRST) == date(2017, 1, 4)
    store.delete(LATEST_CAMPAIGN)
    assert next_run_date(store, FIRST) == date(2017, 1, 3)
