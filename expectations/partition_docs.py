"""One GX record per raw partition, for a Data Docs page per partition, at the cost of one GX
run per table over many partitions.

GX costs about a second per validation run whatever the frame's size (measured on the real
year's daily tables under load 3-7: 0.9-1.5 s per partition, an empty one included), so a page
per partition of a 302-day catch-up by one run each would take minutes. Here a table's
partitions are validated together (``raw_gate.check_partitions``, the gate's own batch run) and
the batch's record is divided into the record GX gives for each partition validated alone. That
division is exact only where it needs no value GX did not report:

* **row suite, a partition with rows**: every expectation of the batch succeeded with no
  unexpected and no missing value (a landed partition passed its hard checks, and the daily
  tables' row suites have no soft check). Each partition then has none either; only its
  ``element_count`` differs, and it is the partition's row count;
* **row suite, an empty partition**: GX's record of an empty frame of the table is the same for
  every empty day; it is validated once (a real GX run) and given to each;
* **the partition profile** (transactions, one row per partition): each partition's row is
  recomputed (``raw_gate.partition_profile``, the gate's own function) and its verdict per
  expectation is the gate's per-partition check (the batch's full unexpected index, which the
  record itself truncates);
* anything else (an unexpected or missing value in a batch, a batch that failed and was
  validated per partition by the gate) is validated alone by GX, as the gate does on failure.

``tests/data/test_partition_docs.py`` compares every divided record with GX's own record of
that partition validated alone, byte for byte.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Callable
from datetime import date
from typing import Any

import pyarrow.parquet as pq

from couponflow.platform.landing import RawContext

PROFILE_SUFFIX = ".profile"


def _label(day: date) -> str:
    return day.isoformat()


def _tagged(record: dict[str, Any], label: str) -> dict[str, Any]:
    out = copy.deepcopy(record)
    out["meta"]["couponflow"] = {**out["meta"]["couponflow"], "label": label, "partitions": [label]}
    return out


def _divisible(record: dict[str, Any]) -> bool:
    """Every expectation succeeded with no unexpected and no missing value (see the module doc)."""
    for r in record["results"]:
        res = r.get("result") or {}
        if not r["success"] or res.get("unexpected_count") or res.get("missing_count"):
            return False
    return True


def _rows_part(record: dict[str, Any], label: str, rows: int) -> dict[str, Any]:
    out = _tagged(record, label)
    for r in out["results"]:
        if "element_count" in (r.get("result") or {}):
            r["result"]["element_count"] = rows
    return out


def _json_value(value: Any) -> Any:
    if value != value:  # NaN
        return None
    return value.item() if hasattr(value, "item") else value


def _profile_part(record: dict[str, Any], label: str, row: dict[str, Any], successes: list[bool]) -> dict[str, Any]:
    """GX's COMPLETE result of each profile expectation on the one-row frame of ``label``."""
    out = _tagged(record, label)
    for r, success in zip(out["results"], successes, strict=True):
        column = r["expectation_config"]["kwargs"]["column"]
        value = _json_value(row[column])
        missing = int(value is None)
        unexpected = int(not success)
        listed = [value] * unexpected
        index = [{"partition": label, column: value}] * unexpected
        percent = None if missing else unexpected * 100.0
        r["success"] = success
        r["result"].update(
            element_count=1,
            unexpected_count=unexpected,
            unexpected_percent=percent,
            partial_unexpected_list=listed,
            missing_count=missing,
            missing_percent=missing * 100.0,
            unexpected_percent_total=unexpected * 100.0,
            unexpected_percent_nonmissing=percent,
            partial_unexpected_counts=[{"value": value, "count": 1}] * unexpected,
            partial_unexpected_index_list=index,
            unexpected_list=listed,
            unexpected_index_list=index,
        )
    ok = sum(r["success"] for r in out["results"])
    n = len(out["results"])
    out["statistics"] = {
        "evaluated_expectations": n,
        "successful_expectations": ok,
        "unsuccessful_expectations": n - ok,
        "success_percent": ok / n * 100.0 if n else None,
    }
    out["success"] = ok == n
    return out


def partition_records(
    table: str,
    partitions: dict[date, bytes],
    context: RawContext,
    own_context: Callable[[date], RawContext],
) -> dict[date, list[dict[str, Any]]]:
    """GX's records of each daily partition of ``table`` as if validated alone (module doc).

    ``context`` is the one the gate saw for the batch (``landing.partition_context`` of its first
    day); ``own_context(day)`` the one of a partition validated alone (the fallback)."""
    from expectations.raw_gate import check_partitions, partition_profile

    batch: dict[date | None, bytes] = {d: b for d, b in partitions.items()}
    results = check_partitions(table, batch, context=context)
    rows = {d: pq.ParquetFile(io.BytesIO(b)).metadata.num_rows for d, b in partitions.items()}
    profile: dict[str, dict[str, Any]] = {}
    if table == "transactions":
        frames = {d: pq.read_table(io.BytesIO(b), columns=["product_id"]).to_pandas() for d, b in partitions.items()}
        profile = partition_profile(frames, context).set_index("partition").to_dict("index")
    empty: dict[str, dict[str, Any]] = {}  # suite -> GX's record of an empty partition
    alone: dict[date, list[dict[str, Any]]] = {}

    def validated_alone(day: date) -> list[dict[str, Any]]:
        if day not in alone:
            alone[day] = check_partitions(table, {day: partitions[day]}, context=own_context(day))[day].validations
        return alone[day]

    out: dict[date, list[dict[str, Any]]] = {}
    for day in sorted(partitions):
        result = results[day]
        label = _label(day)
        records: list[dict[str, Any]] = []
        seen: set[str] = set()
        for rec in result.validations:
            suite = rec["suite_name"]
            if suite in seen:  # each suite once (the gate lists each record once since 505b7ca; kept as a guard)
                continue
            seen.add(suite)
            if rec["meta"]["couponflow"]["label"] == label:  # the gate validated it alone
                records.append(rec)
            elif suite.endswith(PROFILE_SUFFIX):
                n = len(rec["results"])
                successes = [c.success for c in result.checks[-n:]]
                records.append(_profile_part(rec, label, profile[label], successes))
            elif rows[day] == 0:
                if suite not in empty:
                    empty[suite] = next(r for r in validated_alone(day) if r["suite_name"] == suite)
                records.append(_tagged(empty[suite], label))
            elif _divisible(rec):
                records.append(_rows_part(rec, label, rows[day]))
            else:
                records += [r for r in validated_alone(day) if r["suite_name"] == suite]
        out[day] = records
    return out
