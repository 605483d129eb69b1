"""The raw gate passes on every real day and stops every kind of bad input."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from couponflow.platform import manifest
from couponflow.platform.contract import DAILY_TABLES, SNAPSHOT_TABLES
from couponflow.platform.lake import raw_prefix, snapshot_prefix
from couponflow.platform.landing import published_days
from expectations.raw_gate import RawContext, check_partitions
from tests.helpers import replace_column

DAY = date(2017, 3, 3)


# what the real year legitimately trips: soft checks, each with its documented reason
LOW_VOLUME_DAYS = {date(2017, 11, 24), date(2018, 1, 1)}  # Thanksgiving; the few hours of 2018-01-01
CLOSED_DAY = date(2017, 12, 25)


def test_every_real_day_and_snapshot_passes(landed_year, source):
    store = landed_year["store"]
    for spec in DAILY_TABLES:
        assert sorted(published_days(store, spec.name)) == source.days()
    warned = set()
    for spec in DAILY_TABLES:
        for d in source.days():
            ds = manifest.read(store, raw_prefix(spec.name, d))
            result = json.loads(manifest.read_object(store, ds, "validation.json"))
            assert result["success"], (spec.name, d, result)
            for c in result["checks"]:
                if not c["success"]:
                    assert c["severity"] == "warning" and c["reason"].startswith("known:"), c
                    warned.add((spec.name, d, c["column"]))
    expected = {("transactions", d, "unknown_product_lines") for d in source.days() if d != CLOSED_DAY}
    expected |= {("transactions", d, "volume_ratio") for d in LOW_VOLUME_DAYS}
    expected |= {("transactions", CLOSED_DAY, "rows")}
    assert warned == expected
    for spec in SNAPSHOT_TABLES:
        ds = manifest.read(store, snapshot_prefix(spec.name, 1))
        result = json.loads(manifest.read_object(store, ds, "validation.json"))
        assert result["success"]
        warned_snap = sorted((c["check"], c["column"]) for c in result["checks"] if not c["success"])
        # the only soft checks the real snapshots trip: the coupon duplicates and 16 unknown products
        assert warned_snap == (
            [
                ("expect_column_values_to_be_null", "_unknown_product_id"),
                ("expect_compound_columns_to_be_unique", "coupon_upc,product_id,campaign_id"),
            ]
            if spec.name == "coupons"
            else []
        )


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
        "wrong type": (
            _bytes(replace_column(tx, "quantity", [str(q) for q in qty], pa.string())),
            "expect_column_values_to_be_of_type",
            "quantity",
        ),
        "null key": (
            _bytes(replace_column(tx, "basket_id", [None] + tx["basket_id"].to_pylist()[1:])),
            "expect_column_values_to_not_be_null",
            "basket_id",
        ),
        "duplicate rows": (
            _bytes(pa.concat_tables([tx, tx.slice(0, 5)])),
            "expect_compound_columns_to_be_unique",
            "basket_id,product_id",
        ),
        "negative quantity": (
            _bytes(replace_column(tx, "quantity", qty)),
            "expect_column_values_to_be_between",
            "quantity",
        ),
        "date from another day": (
            _bytes(replace_column(tx, "transaction_timestamp", ts)),
            "expect_column_pair_values_to_be_equal",
            "",
        ),
        "truncated parquet": (good[: len(good) // 2], "readable_parquet", ""),
        "not parquet": (b"household_id,basket_id\n1,2\n", "readable_parquet", ""),
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing column",
        "wrong type",
        "null key",
        "duplicate rows",
        "negative quantity",
        "date from another day",
        "truncated parquet",
        "not parquet",
    ],
)
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


# -- checks against the snapshots and the trailing baseline ---------------------------------------


def _context(source, day: date) -> RawContext:
    """The context landing builds: real snapshots and the real row counts of the 28 days before."""
    products, coupons = source.snapshot("products"), source.snapshot("coupons")
    return RawContext(
        product_ids=frozenset(products["product_id"].to_pylist()),
        coupon_campaigns=frozenset(zip(coupons["coupon_upc"].to_pylist(), coupons["campaign_id"].to_pylist())),
        row_history={
            day - timedelta(days=i): source.day("transactions", day - timedelta(days=i)).num_rows for i in range(1, 29)
        },
    )


def _gate(source, table: str, rows: pa.Table, day: date = DAY):
    return check_partitions(table, {day: _bytes(rows)}, context=_context(source, day))[day]


def _checks(result, column):
    return [c for c in result.checks if c.column == column and not c.success]


def test_the_real_day_passes_with_only_the_documented_warning(source):
    result = _gate(source, "transactions", _real(source))
    assert result.success and result.failures == []
    assert [c.column for c in result.warnings] == ["unknown_product_lines"]
    assert result.warnings[0].reason.startswith("known: 17 product ids")


def test_an_unknown_product_id_warns_and_a_stale_catalogue_fails(source):
    tx = _real(source)
    ids = tx["product_id"].to_pylist()
    few = replace_column(tx, "product_id", [999_999_000 + i for i in range(3)] + ids[3:])
    result = _gate(source, "transactions", few)
    assert result.success  # soft: the real data sells 17 unknown products every day
    (warn,) = _checks(result, "unknown_product_lines")
    assert warn.severity == "warning" and "name products missing from products" in warn.detail
    n = tx.num_rows // 10
    many = replace_column(tx, "product_id", [999_000_000 + i for i in range(n)] + ids[n:])
    result = _gate(source, "transactions", many)
    assert not result.success
    (fail,) = [c for c in result.failures if c.column == "unknown_product_share"]
    assert "products snapshot" in fail.fix and "transactions.unknown_product_share date=2017-03-03" in result.one_line()


def test_an_empty_day_warns_with_the_documented_reason(source):
    result = _gate(source, "transactions", _real(source).slice(0, 0))
    assert result.success
    (warn,) = _checks(result, "rows")
    assert warn.severity == "warning" and "2017-12-25" in warn.reason and "rows = 0" in warn.detail


def test_a_ten_times_day_fails_against_the_trailing_baseline(source):
    tx = _real(source)
    # ten copies with fresh basket ids: keys stay unique, only the volume is wrong
    copies = [replace_column(tx, "basket_id", pc.add(tx["basket_id"], 10**12 * k)) for k in range(10)]
    result = _gate(source, "transactions", pa.concat_tables(copies))
    assert [c.column for c in result.failures] == ["volume_ratio"]
    line = result.one_line()
    assert "transactions.volume_ratio date=2017-03-03" in line and "replayed export" in line
    assert "trailing median" in result.failures[0].detail


def test_a_quiet_day_warns_and_a_day_without_history_is_not_judged(source):
    tx = _real(source)
    result = _gate(source, "transactions", tx.slice(0, tx.num_rows // 4))
    assert result.success and "volume_ratio" in [c.column for c in result.warnings]
    first = date(2017, 1, 3)  # two days of history: no baseline yet
    result = check_partitions(
        "transactions", {first: _bytes(source.day("transactions", first))}, context=_context(source, first)
    )[first]
    assert result.success and "volume_ratio" not in [c.column for c in result.warnings]


def test_a_redemption_of_a_coupon_the_campaign_lacks_fails(source):
    day = date(2017, 3, 18)
    red = source.day("coupon_redemptions", day)
    assert red.num_rows > 0 and _gate(source, "coupon_redemptions", red, day).success
    wrong = replace_column(red, "coupon_upc", [12345] + red["coupon_upc"].to_pylist()[1:])
    result = _gate(source, "coupon_redemptions", wrong, day)
    (fail,) = result.failures
    assert fail.column == "_unknown_coupon_upc" and "12345" in fail.detail and "coupons snapshot" in fail.fix


def test_duplicate_redemption_lines_fail(source):
    day = date(2017, 3, 18)
    red = source.day("coupon_redemptions", day)
    result = _gate(source, "coupon_redemptions", pa.concat_tables([red, red.slice(0, 1)]), day)
    assert [c.check for c in result.failures] == ["expect_compound_columns_to_be_unique"]


def test_a_stale_products_snapshot_fails_the_coupons(source):
    coupons = source.snapshot("coupons")
    ctx = RawContext(product_ids=frozenset(source.snapshot("products")["product_id"].to_pylist()[:1000]))
    result = check_partitions("coupons", {None: _bytes(coupons)}, context=ctx)[None]
    assert [c.column for c in result.failures] == ["_unknown_product_id"]
