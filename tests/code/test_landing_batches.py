"""A catch-up lands in bounded batches (COUPONFLOW_LAND_BATCH_DAYS) and the lake is the same bytes
whatever the batch size: each batch's gate reads the row counts of the days before it from the
lake (the earlier batches), not only from the batch itself."""

from __future__ import annotations

import json
from datetime import date

import pytest

from couponflow.app.ingest import land_through
from couponflow.platform.gate_results import GateResult
from couponflow.platform.lake import raw_prefix
from couponflow.platform.landing import landed_days, published_days
from couponflow.platform.storage import LocalStore
from tests.helpers import TransformedSource

FIRST, LAST = date(2017, 1, 1), date(2017, 1, 12)  # past the volume baseline's 7 days of history
CRASH_DAY = date(2017, 1, 8)  # inside the third batch of three days
QUIET_DAY = date(2017, 1, 11)  # a day with a third of its lines: below 0.5x the trailing median


@pytest.fixture(scope="module")
def quiet(source) -> TransformedSource:
    """The real year with one quiet day, whose verdict (a volume warning) needs the days before
    it: a batch that saw only its own days would find no baseline and no warning."""

    def third(table, d, rows):
        return rows.slice(0, rows.num_rows // 3) if (table, d) == ("transactions", QUIET_DAY) else rows

    return TransformedSource(source, third)


def _lake(store) -> dict[str, bytes]:
    """Every object of the lake (data, manifests, validation.json), by key."""
    return {k: store.get(k) for k in store.list("")}


@pytest.fixture(scope="module")
def one_batch(tmp_path_factory, quiet) -> dict[str, bytes]:
    store = LocalStore(tmp_path_factory.mktemp("all") / "lake")
    report = land_through(store, quiet, LAST)  # no batch size: the whole catch-up at once
    assert report.landed_days == [date(2017, 1, d) for d in range(1, 13)]
    lake = _lake(store)
    verdict = GateResult.from_dict(json.loads(lake[f"{raw_prefix('transactions', QUIET_DAY)}/validation.json"]))
    assert verdict.success and any(c.column == "volume_ratio" for c in verdict.warnings), verdict
    return lake


@pytest.mark.parametrize("batch_days", [1, 3, 12])
def test_every_batch_size_lands_the_same_bytes(tmp_path, quiet, one_batch, batch_days):
    store = LocalStore(tmp_path / "lake")
    seen: list[tuple[int, int]] = []
    report = land_through(store, quiet, LAST, on_progress=lambda i, n: seen.append((i, n)), batch_days=batch_days)
    assert report.landed_days == [date(2017, 1, d) for d in range(1, 13)]
    assert seen == [(i, 12) for i in range(1, 13)]  # progress counts the catch-up, not the batch
    lake = _lake(store)
    assert sorted(lake) == sorted(one_batch)
    assert any(k.endswith("validation.json") for k in lake) and any(k.endswith("manifest.json") for k in lake)
    assert [k for k in lake if lake[k] != one_batch[k]] == []


class _DiesAfter:
    """A store whose process dies (an exception no one catches) right after one key is written."""

    def __init__(self, store, key: str) -> None:
        self._store, self._key = store, key

    def put(self, key: str, data: bytes) -> None:
        self._store.put(key, data)
        if key == self._key:
            raise KeyboardInterrupt("killed")

    def __getattr__(self, name):
        return getattr(self._store, name)


def test_a_crash_in_a_later_batch_then_a_rerun_lands_the_same_bytes(tmp_path, quiet, one_batch):
    store = LocalStore(tmp_path / "lake")
    dying = _DiesAfter(store, f"{raw_prefix('transactions', CRASH_DAY)}/manifest.json")
    with pytest.raises(KeyboardInterrupt):
        land_through(dying, quiet, LAST, batch_days=3)
    # the first two batches and a day of the third are landed; the crashed day is pending
    assert landed_days(store) == [date(2017, 1, d) for d in range(1, 8)]
    assert CRASH_DAY in published_days(store, "transactions")
    rerun = land_through(store, quiet, LAST, batch_days=5)  # another size: batches fall elsewhere
    assert rerun.landed_days == [date(2017, 1, d) for d in range(8, 13)]
    lake = _lake(store)
    assert sorted(lake) == sorted(one_batch)
    assert [k for k in lake if lake[k] != one_batch[k]] == []
