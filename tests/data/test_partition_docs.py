"""Each raw partition's Data Docs record, divided from one GX run over many partitions
(``expectations.partition_docs``), is the record GX itself gives that partition validated
alone: compared as JSON for every partition of a window with empty and non-empty days, rows
without a baseline and rows with one, soft checks passing and warning."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from couponflow.app.ingest import land_through
from couponflow.platform import manifest
from couponflow.platform.contract import DAILY_TABLES
from couponflow.platform.lake import PART, raw_prefix
from couponflow.platform.landing import partition_context
from couponflow.platform.storage import LocalStore
from expectations.partition_docs import partition_records
from expectations.raw_gate import check_partitions

FIRST, LAST = date(2017, 1, 6), date(2017, 1, 10)  # a baseline from 01-08 on; campaigns land on 01-01 only


@pytest.fixture(scope="module")
def lake(source, tmp_path_factory):
    store = LocalStore(tmp_path_factory.mktemp("partition-docs") / "lake")
    land_through(store, source, LAST)
    return store


def _parts(store, table: str) -> dict[date, bytes]:
    days = [FIRST + timedelta(days=i) for i in range((LAST - FIRST).days + 1)]
    return {d: manifest.read_object(store, manifest.read(store, raw_prefix(table, d)), PART) for d in days}


def _json(records) -> list[str]:
    """The distinct records (the gate lists its profile's once per profile check)."""
    return sorted({json.dumps(r, sort_keys=True) for r in records})


@pytest.mark.parametrize("table", [t.name for t in DAILY_TABLES])
def test_each_divided_record_is_the_record_of_the_partition_validated_alone(lake, source, table):
    parts = _parts(lake, table)
    if table == "campaigns":  # an empty day among the window and a day with rows
        parts[date(2017, 1, 1)] = manifest.read_object(
            lake, manifest.read(lake, raw_prefix(table, date(2017, 1, 1))), PART
        )
    first = min(parts)
    divided = partition_records(
        table, parts, partition_context(lake, source, first), lambda d: partition_context(lake, source, d)
    )
    assert sorted(divided) == sorted(parts)
    for day, data in parts.items():
        alone = check_partitions(table, {day: data}, context=partition_context(lake, source, day))[day].validations
        assert _json(divided[day]) == _json(alone), day
        assert len(divided[day]) == len(_json(divided[day])), day  # each record once
        assert all(r["meta"]["couponflow"]["label"] == day.isoformat() for r in divided[day])


def test_the_gate_lists_each_record_of_a_partition_once(lake, source):
    """check_partitions gives a transactions day its row suite's record and its profile's, each
    once (it listed the profile's once per profile check, five times)."""
    parts = _parts(lake, "transactions")
    results = check_partitions("transactions", dict(parts), context=partition_context(lake, source, FIRST))
    for day, result in results.items():
        suites = [r["suite_name"] for r in result.validations]
        assert len(suites) == len(set(suites)) == 2, (day, suites)
        assert any(s.endswith(".profile") for s in suites), (day, suites)
