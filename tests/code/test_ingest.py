"""Landing: idempotent, never ahead of the run date, quarantines what the gate rejects."""

from __future__ import annotations

from datetime import date, datetime

import pyarrow.parquet as pq
import pytest

from couponflow import manifest
from couponflow.contract import DAILY_TABLES, raw_prefix
from couponflow.ingest import GateFailed, land_through, landed_days
from tests.helpers import corrupted, null_household


def _snapshot_bytes(store) -> dict[str, bytes]:
    return {k: store.get(k) for k in store.list("raw/")}


def test_landing_twice_changes_no_byte(store, source):
    first = land_through(store, source, date(2017, 1, 6))
    assert first.landed_days == [date(2017, 1, d) for d in range(1, 7)]
    before = _snapshot_bytes(store)
    again = land_through(store, source, date(2017, 1, 6))
    assert again.landed_days == [] and again.landed_snapshots == []
    assert _snapshot_bytes(store) == before
    # a partition whose manifest vanished is re-landed with exactly the same bytes
    store.delete(f"{raw_prefix('transactions', date(2017, 1, 3))}/manifest.json")
    assert land_through(store, source, date(2017, 1, 6)).landed_days == [date(2017, 1, 3)]
    assert _snapshot_bytes(store) == before


def test_never_lands_the_run_date_or_later(local_store, source):
    run_date = date(2017, 2, 8)
    land_through(local_store, source, date(2017, 2, 7))
    assert max(landed_days(local_store)) == date(2017, 2, 7)
    for spec in DAILY_TABLES:
        for d in landed_days(local_store, spec.name):
            assert d < run_date
    last = pq.read_table(local_store.local_path(f"{raw_prefix('transactions', date(2017, 2, 7))}/part-0.parquet"))
    assert max(last["transaction_timestamp"].to_pylist()) < datetime(2017, 2, 8)
    assert not local_store.list("raw/transactions/date=2017-02-08")


def test_a_corrupted_day_is_quarantined_and_nothing_after_it_lands(store, source):
    bad_day = date(2017, 1, 4)
    bad_source = corrupted(source, "transactions", bad_day, null_household)
    with pytest.raises(GateFailed) as exc:
        land_through(store, bad_source, date(2017, 1, 6))
    msg = str(exc.value)
    assert "transactions.household_id" in msg and "date=2017-01-04" in msg and "Fix:" in msg
    assert landed_days(store) == [date(2017, 1, 1), date(2017, 1, 2), date(2017, 1, 3)]
    for spec in DAILY_TABLES:  # no table of the bad day, nor of any later day, is published
        assert manifest.read(store, raw_prefix(spec.name, bad_day)) is None
    assert store.exists("quarantine/raw/date=2017-01-04/transactions/part-0.parquet")
    assert b"expect_column_values_to_not_be_null" in store.get(
        "quarantine/raw/date=2017-01-04/transactions/validation.json")
    # once the upstream file is fixed, the same call finishes the job
    assert land_through(store, source, date(2017, 1, 6)).landed_days == [date(2017, 1, d) for d in (4, 5, 6)]
