"""The raw gate: every landed partition is checked before anything downstream may read it.

One GX suite per raw table, derived from the landing contract (``couponflow.contract``):
schema (exact column set and types), keys not null and unique, value ranges, and, for daily
tables, every row's date inside the partition's day. The checks are the same for every source.
Soft checks (``meta.severity = "warning"``) are what the real data does legitimately; they are
reported with their reason and do not stop the run.

Partitions of one table are validated together when they pass (one GX run for a whole
catch-up); when the batch fails, each partition is validated alone so that the failure names
the exact date.
"""

from __future__ import annotations

import io
from datetime import date
from functools import partial

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from couponflow.contract import RAW_TABLES, RawTable
from expectations.runtime import WARNING, CheckResult, GateResult, validate

GATE = "raw"
PARTITION_COL = "_partition_date"
EVENT_COL = "_event_date"

_PANDAS_TYPE = {
    pa.int64(): "int64",
    pa.float64(): "float64",
    pa.timestamp("us"): "datetime64[us]",
    pa.string(): "str",
}


def raw_suite(spec: RawTable) -> list:
    """The expectations of one raw table (a fresh list: GX binds expectations to one suite)."""
    import great_expectations as gx

    E = gx.expectations
    fix_schema = {"fix": f"the upstream file must have exactly the columns of the {spec.name} contract"}
    cols = list(spec.columns) + ([PARTITION_COL, EVENT_COL] if spec.daily else [])
    exps: list = [E.ExpectTableColumnsToMatchSet(column_set=cols, exact_match=True, meta=fix_schema)]
    for col, typ in spec.columns.items():
        exps.append(E.ExpectColumnValuesToBeOfType(column=col, type_=_PANDAS_TYPE[typ], meta=fix_schema))
    for col in spec.not_null:
        exps.append(E.ExpectColumnValuesToNotBeNull(
            column=col, meta={"fix": f"{spec.name}.{col} is a required field; re-export the rows without it"}))
    key_meta = (
        {"severity": WARNING, "reason": spec.soft_unique_key_reason}
        if spec.soft_unique_key_reason
        else {"fix": f"remove duplicate {spec.name} rows with the same {', '.join(spec.key)}"}
    )
    if len(spec.key) == 1:
        exps.append(E.ExpectColumnValuesToBeUnique(column=spec.key[0], meta=key_meta))
    else:
        exps.append(E.ExpectCompoundColumnsToBeUnique(column_list=list(spec.key), meta=key_meta))
    for col in spec.non_negative:
        exps.append(E.ExpectColumnValuesToBeBetween(
            column=col, min_value=0, meta={"fix": f"{spec.name}.{col} must be >= 0 (amounts are stored as non-negative)"}))
    if spec.daily:
        exps.append(E.ExpectColumnPairValuesToBeEqual(
            column_A=PARTITION_COL, column_B=EVENT_COL,
            meta={"fix": "every row must be dated on the partition's day; move the rows to their own day's file"}))
    if spec.name == "campaign_descriptions":
        exps.append(E.ExpectColumnValuesToBeInSet(
            column="campaign_type", value_set=["Type A", "Type B", "Type C"],
            meta={"fix": "campaign_type must be one of Type A, Type B, Type C"}))
        exps.append(E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="end_date", column_B="start_date", or_equal=True,
            meta={"fix": "a campaign must end on or after its start"}))
    return exps


def _read(data: bytes) -> pd.DataFrame:
    return pq.read_table(io.BytesIO(data)).to_pandas()


def _add_dates(df: pd.DataFrame, spec: RawTable, day: date, campaign_landing: dict[int, date]) -> pd.DataFrame:
    df = df.copy()
    df[PARTITION_COL] = pd.Series(pd.Timestamp(day), index=df.index, dtype="datetime64[us]")
    if spec.event_column and spec.event_column in df.columns:
        event = pd.to_datetime(df[spec.event_column], errors="coerce").dt.floor("D")
    elif spec.name == "campaigns" and "campaign_id" in df.columns:
        # a recipient row lands on its campaign's (clamped) start date; unknown campaigns get NaT
        event = pd.to_datetime(df["campaign_id"].map(campaign_landing), errors="coerce")
    else:
        event = pd.Series(pd.NaT, index=df.index)
    df[EVENT_COL] = event.astype("datetime64[us]")
    return df


def check_partitions(
    table: str,
    partitions: dict[date | None, bytes],
    campaign_landing: dict[int, date] | None = None,
) -> dict[date | None, GateResult]:
    """Gate the parquet bytes of one table's partitions (keyed by day; None = snapshot)."""
    spec = RAW_TABLES[table]
    suite = partial(raw_suite, spec)
    suite_name = f"raw.{table}"
    results: dict[date | None, GateResult] = {}
    frames: dict[date | None, pd.DataFrame] = {}
    for day, data in partitions.items():
        label = day.isoformat() if day else "snapshot"
        try:
            df = _read(data)
        except Exception as exc:  # noqa: BLE001 - any parse error means an unusable file
            results[day] = GateResult(GATE, table, label, [CheckResult(
                "readable_parquet", None, False, "error", f"not a readable parquet file ({exc.__class__.__name__}: {exc})",
                "the upstream file is truncated or not parquet; re-export it")])
            continue
        frames[day] = _add_dates(df, spec, day, campaign_landing or {}) if spec.daily else df

    if len(frames) > 1:
        batch = pd.concat(frames.values(), ignore_index=True)
        checks = validate(suite_name, suite, batch)
        if all(c.success or c.severity == WARNING for c in checks):
            for day in frames:
                results[day] = GateResult(GATE, table, day.isoformat() if day else "snapshot", list(checks))
            return results
    for day, df in frames.items():
        results[day] = GateResult(GATE, table, day.isoformat() if day else "snapshot", validate(suite_name, suite, df))
    return results
