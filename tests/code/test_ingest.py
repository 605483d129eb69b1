"""Landing: idempotent, never ahead of the run date, quarantines what the gate rejects."""

from __future__ import annotations

from datetime import date, datetime

import pyarrow.parquet as pq
import pytest

from couponflow.app.ingest import land_through
from couponflow.platform import manifest
from couponflow.platform.contract import DAILY_TABLES
from couponflow.platform.lake import raw_prefix
from couponflow.platform.landing import GateFailed, landed_days, published_days
from couponflow.platform.storage import LocalStore
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
        for d in published_days(local_store, spec.name):
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
        "quarantine/raw/date=2017-01-04/transactions/validation.json"
    )
    # once the upstream file is fixed, the same call finishes the job
    assert land_through(store, source, date(2017, 1, 6)).landed_days == [date(2017, 1, d) for d in (4, 5, 6)]


class _StoreLostAfter:
    """A store whose S3 server is stopped right after one key is written (the run goes on
    against a dead endpoint, as when the server dies between two tables of a day)."""

    def __init__(self, store, server, key: str) -> None:
        self._store, self._server, self._key = store, server, key
        self.description = store.description

    def put(self, key: str, data: bytes) -> None:
        self._store.put(key, data)
        if key == self._key:
            self._server.stop()

    def __getattr__(self, name):
        return getattr(self._store, name)


def test_a_day_half_landed_when_the_store_dies_is_landed_whole_by_the_rerun(tmp_path, source):
    """The defect: the S3 server died after a day's transactions manifest and before its other
    tables; the re-run skipped the day (its transactions were 'landed'), dbt built on a day without
    its recipients and the run published a different campaign. A day is landed only whole."""
    from couponflow.platform.config import load_settings
    from couponflow.platform.storage import S3Store, StoreError
    from couponflow.platform.warehouse import connect, expose_lake
    from tests.seaweed import ACCESS_KEY, SECRET_KEY, SeaweedServer

    server = SeaweedServer(tmp_path / "weed")
    server.start()
    try:
        server.client().create_bucket(Bucket="lake")
        s3 = S3Store("lake", "", server.endpoint, access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY)
        half_day = date(2017, 1, 3)
        dying = _StoreLostAfter(s3, server, f"{raw_prefix('transactions', half_day)}/manifest.json")
        with pytest.raises(StoreError):
            land_through(dying, source, date(2017, 1, 5))
        server.start()  # the same data directory and ports: the store is back

        assert half_day in published_days(s3, "transactions")
        assert half_day not in published_days(s3, "campaigns")
        assert landed_days(s3) == [date(2017, 1, 1), date(2017, 1, 2)]  # half a day is not landed
        settings = load_settings(home=tmp_path / "home")
        expose_lake(settings, s3)  # and dbt never sees it
        with connect(settings) as con:
            seen = {str(d) for (d,) in con.execute("select distinct date from raw.landed_partitions").fetchall()}
            tx_days = {str(d) for (d,) in con.execute("select distinct date from raw.transactions").fetchall()}
        assert seen == tx_days == {"2017-01-01", "2017-01-02"}

        rerun = land_through(s3, source, date(2017, 1, 5))
        assert rerun.landed_days == [half_day, date(2017, 1, 4), date(2017, 1, 5)]
        assert landed_days(s3) == [date(2017, 1, d) for d in range(1, 6)]
        # byte for byte what an undisturbed landing writes
        undisturbed = LocalStore(tmp_path / "undisturbed")
        land_through(undisturbed, source, date(2017, 1, 5))
        assert _snapshot_bytes(s3) == _snapshot_bytes(undisturbed)
    finally:
        server.stop()
