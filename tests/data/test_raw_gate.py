"""The raw gate passes on every real day and stops every kind of bad input."""

from __future__ import annotations

import json
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from couponflow import manifest
from couponflow.contract import DAILY_TABLES, SNAPSHOT_TABLES, raw_prefix
from couponflow.ingest import landed_days
from expectations.raw_gate import check_partitions
from tests.helpers import replace_column

DAY = date(2017, 3, 3)


def test_every_real_day_and_snapshot_passes(landed_year, source):
    store = landed_year["store"]
    for spec in DAILY_TABLES:
        assert landed_days(store, spec.name) == source.days()
    for spec in DAILY_TABLES:
        for d in source.days():
            ds = manifest.read(store, raw_prefix(spec.name, d))
            result = json.loads(manifest.read_object(store, ds, "validation.json"))
            assert result["success"], (spec.name, d, result)
    for spec in SNAPSHOT_TABLES:
        ds = manifest.read(store, raw_prefix(spec.name, None))
        result = json.loads(manifest.read_object(store, ds, "validation.json"))
        assert result["success"]
        warned = [c for c in result["checks"] if not c["success"]]
        # the only soft check the real snapshots trip is the documented coupon duplicates
        assert [(spec.name, c["check"]) for c in warned] == (
            [("coupons", "expect_compound_columns_to_be_unique")] if spec.name == "coupons" else [])


def test_closed_christmas_day_lands_empty(landed_year):
    ds = manifest.read(landed_year["store"], raw_prefix("transactions", date(2017, 12, 25)))
    assert ds.rows() == 0


def _bytes(table: pa.Table) -> bytes:
    return manifest.parquet_bytes(table)


def _real(source, table="transactions") -> pa.Table:
    return source.day(table, DAY)


def _bad_inputs(source) -> dict[str, tuple[bytes, str, str]]:
    tx = _real(source)
    qty = tx["quantity"].to_pylist()
    qty[1] = -2
    ts = tx["transaction_timestamp"].to_pylist()
    ts[0] = ts[0].replace(day=4)
    good = _bytes(tx)
    return {
        "missing column": (_bytes(tx.drop_columns(["store_id"])), "expect_table_columns_to_match_set", ""),
        "wrong type": (_bytes(replace_column(tx, "quantity", [str(q) for q in qty], pa.string())),
                       "expect_column_values_to_be_of_type", "quantity"),
        "null key": (_bytes(replace_column(tx, "basket_id", [None] + tx["basket_id"].to_pylist()[1:])),
                     "expect_column_values_to_not_be_null", "basket_id"),
        "duplicate rows": (_bytes(pa.concat_tables([tx, tx.slice(0, 5)])),
                           "expect_compound_columns_to_be_unique", "basket_id,product_id"),
        "negative quantity": (_bytes(replace_column(tx, "quantity", qty)), "expect_column_values_to_be_between", "quantity"),
        "date from another day": (_bytes(replace_column(tx, "transaction_timestamp", ts)),
                                  "expect_column_pair_values_to_be_equal", ""),
        "truncated parquet": (good[: len(good) // 2], "readable_parquet", ""),
        "not parquet": (b"household_id,basket_id\n1,2\n", "readable_parquet", ""),
    }


@pytest.mark.parametrize("case", ["missing column", "wrong type", "null key", "duplicate rows",
                                  "negative quantity", "date from another day", "truncated parquet",
                                  "not parquet"])
def test_bad_transactions_partition_fails_with_a_clear_reason(source, case):
    data, check, column = _bad_inputs(source)[case]
    result = check_partitions("transactions", {DAY: data})[DAY]
    assert not result.success
    assert check in [c.check for c in result.failures]
    line = result.one_line()
    assert "transactions" in line and "2017-03-03" in line and "Fix:" in line
    if column:
        assert any(c.column == column for c in result.failures if c.check == check)


def test_a_bad_day_in_a_batch_is_named_and_the_others_pass(source):
    tx = _real(source)
    good = {d: _bytes(source.day("transactions", d)) for d in (date(2017, 3, 2), date(2017, 3, 4))}
    bad = _bytes(replace_column(tx, "sales_value", [-1.0] + tx["sales_value"].to_pylist()[1:]))
    results = check_partitions("transactions", {**good, DAY: bad})
    assert not results[DAY].success
    assert all(results[d].success for d in good)


def test_recipients_of_an_unknown_or_later_campaign_fail(source):
    day = date(2017, 3, 8)  # campaign 2 starts
    rec = source.day("campaigns", day)
    landing = {2: day, 3: date(2017, 3, 13)}
    assert check_partitions("campaigns", {day: _bytes(rec)}, landing)[day].success
    wrong = replace_column(rec, "campaign_id", [3] * rec.num_rows)
    assert not check_partitions("campaigns", {day: _bytes(wrong)}, landing)[day].success
    unknown = replace_column(rec, "campaign_id", [999] * rec.num_rows)
    assert not check_partitions("campaigns", {day: _bytes(unknown)}, landing)[day].success


def test_a_campaign_ending_before_it_starts_fails(source):
    desc = source.snapshot("campaign_descriptions")
    swapped = desc.set_column(2, "start_date", desc["end_date"]).set_column(3, "end_date", desc["start_date"])
    result = check_partitions("campaign_descriptions", {None: _bytes(swapped)})[None]
    assert "expect_column_pair_values_a_to_be_greater_than_b" in [c.check for c in result.failures]
    assert pc.sum(desc["planned_size"]).as_py() == 6589  # planned size = historical recipients
