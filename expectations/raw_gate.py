"""The raw gate: every landed partition is checked before anything downstream may read it.

Two GX suites per table, derived from the landing contract (``couponflow.platform.contract``):

* the **row suite** (``raw.<table>``): schema (exact column set and types), keys not null and
  unique (so no duplicate lines), value ranges, for daily tables every row's date inside the
  partition's day, and referential integrity to the static snapshots (a redeemed coupon must be
  one of the campaign's coupons; a coupon's product should be in the catalogue);
* the **partition profile** (``raw.<table>.profile``, transactions only): one row per partition
  with its row count against a trailing baseline and its lines whose product the catalogue
  lacks.

What the real data does legitimately is a soft check (``meta.severity = "warning"``, with the
documented ``meta.reason``); what would corrupt a decision is a hard one. Measured on the real
year (2017-01-01 .. 2018-01-01), the soft checks it trips are:

* ``unknown_product_lines``: every day sells a few of the 17 product ids missing from the
  products snapshot (4,836 lines in the year, at most 0.8 % of a day). Hard above 5 %.
* ``rows``: 2017-12-25 is empty (the stores were closed).
* ``volume_ratio`` below 0.5 x the trailing median: 2017-11-24 (Thanksgiving, 0.44 x) and
  2018-01-01 (a few hours of it are in the data, 0.14 x). The highest real day is 1.8 x;
  above 3 x (a 10x day, a replayed export) the gate fails: such a day would multiply every
  spend and basket feature, and it is cheap to re-export.
* the coupons snapshot repeats 4,872 (coupon, product, campaign) rows and names 16 products the
  catalogue lacks.

**Absurd amounts** are hard for every source (a unit or column mix-up in an export: cents as
dollars, an id in an amount column). Measured on the real year (1,469,307 lines, 155,848
baskets): a line's quantity is at most 89,638 (a fuel product counted in its units; p99.9
17,148), its sales_value at most 840.00 (p99.99 88.00), a basket's sales_value sums to at most
961.49, and discounts exceed sales_value legitimately (44,591 lines, so "a discount larger than
the price" alone is no error) but by at most 50.01. The bands are about ten times that: quantity
1,000,000, sales_value 10,000, basket 10,000, discounts over sales_value 500. Every real day's
largest basket is at least 140.99, so a day exported in cents (14,099 and more) trips the
basket band on any day of the year.

Gate thresholds are per source (DESIGN): ``BANDS`` holds each source's, chosen by the source's
name that landing puts in the ``RawContext``. The synthetic world (``COUPONFLOW_SOURCE=synthetic``)
needs no bands of its own: it has no closed days, no unknown products and no coupon
duplicates, and its busiest and quietest days stay well inside these bands (1.43 x and 0.75 x
the trailing median over a year of 2,469 households; ``benchmarks/synthetic_fidelity.py``
prints them, and ``tests/data/test_synthetic_source.py`` lands four weeks of it through this
gate without a single warning). The drop zone (a retailer's own files) carries its own
(``DROPZONE_BANDS``): nothing measured says how its days vary, so its volume band is wide (hard
only above 10x the trailing median of its own landed days, a warning above 3x), and the soft
checks' reasons do not claim the real year's closed days; what would corrupt a decision stays
hard for every source (schema, keys, dates, unknown products above 5%).

Row suites of one table are validated together when they pass (one GX run for a whole
catch-up); when the batch fails, each partition is validated alone so that the failure names
the exact date. The profile is one small frame for all partitions; GX reports the partitions
of the unexpected rows, so its checks are attributed to their dates in the same single run.

Checks against the snapshots and the trailing baseline need a ``RawContext``; landing always
builds one from the lake (``couponflow.platform.landing``). Without it those checks have nothing to
compare with and pass.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import partial
from statistics import median

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from couponflow.platform.contract import RAW_TABLES, RawTable
from couponflow.platform.landing import ROW_HISTORY_DAYS, RawContext
from expectations.runtime import (
    WARNING,
    CheckResult,
    GateResult,
    Validation,
    run_suite,
    soft,
    unexpected_index,
)

GATE = "raw"
PARTITION_COL = "_partition_date"
EVENT_COL = "_event_date"
UNKNOWN_PRODUCT = "_unknown_product_id"  # coupons: the product id when the catalogue lacks it
UNKNOWN_COUPON = "_unknown_coupon_upc"  # redemptions: the coupon when the campaign has no such coupon

# trailing baseline of a day's row count: the median of the last BASELINE_DAYS non-empty days
# among the BASELINE_WINDOW days before it, once at least BASELINE_MIN_DAYS of them exist
BASELINE_DAYS, BASELINE_MIN_DAYS, BASELINE_WINDOW = 14, 7, ROW_HISTORY_DAYS
MAX_VOLUME_RATIO = 3.0  # hard: real maximum 1.82 (2017-12-03)
LOW_VOLUME_RATIO = 0.5  # soft: 2017-11-24 (0.44) and the partial 2018-01-01 (0.14)
MAX_UNKNOWN_PRODUCT_SHARE = 0.05  # hard: real maximum 0.8 % of a day's lines
# absurd amounts (hard), measured on the real year's 1,469,307 lines and 155,848 baskets
# (the figures and the reasoning: the module doc)
MAX_LINE_QUANTITY = 1_000_000  # real maximum 89,638 (a fuel product counted in its units); p99.9 17,148
MAX_LINE_SALES_VALUE = 10_000.0  # real maximum 840.00; p99.99 88.00
MAX_BASKET_SALES_VALUE = 10_000.0  # real maximum 961.49; every day's largest basket is >= 140.99
MAX_DISCOUNT_OVER_SALES = 500.0  # retail + coupon + match discount above sales_value: real maximum 50.01
BASKET_SALES = "_basket_sales_value"  # transactions: the sum of sales_value of the line's basket in its day
DISCOUNT_OVER_SALES = "_discount_over_sales"  # transactions: the line's discounts minus its sales_value

REASON_UNKNOWN_PRODUCTS = (
    "known: 17 product ids are sold but missing from the products snapshot (4,836 lines in 2017, "
    "at most 0.8% of a day); features count them under 'other department'"
)
REASON_EMPTY_DAY = "known: a day with no sales happens when the stores are closed (2017-12-25)"
REASON_LOW_VOLUME = (
    "known: quiet days happen (Thanksgiving 2017-11-24 at 0.44x the trailing median; 2018-01-01 "
    "holds only its first hours)"
)
REASON_COUPON_PRODUCTS = "known: 16 coupon rows name products missing from the products snapshot"


@dataclass(frozen=True)
class Bands:
    """One source's thresholds of the partition profile (DESIGN: gate thresholds are per source)."""

    max_volume_ratio: float  # hard
    low_volume_ratio: float  # soft
    max_unknown_product_share: float  # hard
    reason_empty_day: str
    reason_low_volume: str
    reason_unknown_products: str
    warn_volume_ratio: float | None = None  # soft, when the hard band is wider than the usual days
    suite_suffix: str = ""  # GX suites are registered once per name: other bands, other names
    # absurd amounts of a transactions line or basket (hard)
    max_line_quantity: int = MAX_LINE_QUANTITY
    max_line_sales_value: float = MAX_LINE_SALES_VALUE
    max_basket_sales_value: float = MAX_BASKET_SALES_VALUE
    max_discount_over_sales: float = MAX_DISCOUNT_OVER_SALES


BUNDLED_BANDS = Bands(
    MAX_VOLUME_RATIO,
    LOW_VOLUME_RATIO,
    MAX_UNKNOWN_PRODUCT_SHARE,
    REASON_EMPTY_DAY,
    REASON_LOW_VOLUME,
    REASON_UNKNOWN_PRODUCTS,
)
DROPZONE_BANDS = Bands(
    max_volume_ratio=10.0,  # a replayed export doubles keys (hard anyway); ten days in one folder is 10x
    low_volume_ratio=0.5,
    max_unknown_product_share=MAX_UNKNOWN_PRODUCT_SHARE,
    reason_empty_day="a day with no sales (stores closed, or an empty export: check it if the stores were open)",
    reason_low_volume="a quiet day (a holiday, or a partial export: check it if the day was ordinary)",
    reason_unknown_products="products sold but missing from the products snapshot: drop a newer products snapshot",
    warn_volume_ratio=3.0,
    suite_suffix=".dropzone",
)
# the synthetic world fits the real year's volume bands (see above); its amounts' tail grows
# with households (10k households, every third day of a year, 2.05M lines: largest line 1,543.72,
# basket 1,966.63, discounts 82.02 over sales_value), so its absurd amounts are wider
SYNTHETIC_BANDS = replace(
    BUNDLED_BANDS,
    suite_suffix=".synthetic",
    max_line_sales_value=100_000.0,
    max_basket_sales_value=1_000_000.0,
    max_discount_over_sales=50_000.0,
)
BANDS: dict[str, Bands] = {
    "completejourney": BUNDLED_BANDS,
    "synthetic": SYNTHETIC_BANDS,
    "dropzone": DROPZONE_BANDS,
}


def bands_for(source: str) -> Bands:
    """The bands of a source by name; an unknown name gets the real year's."""
    return BANDS.get(source, BUNDLED_BANDS)


_PANDAS_TYPE = {
    pa.int64(): "int64",
    pa.float64(): "float64",
    pa.timestamp("us"): "datetime64[us]",
    pa.string(): "str",
}


def _derived_columns(spec: RawTable) -> list[str]:
    cols = [PARTITION_COL, EVENT_COL] if spec.daily else []
    if spec.name == "coupons":
        cols.append(UNKNOWN_PRODUCT)
    if spec.name == "coupon_redemptions":
        cols.append(UNKNOWN_COUPON)
    if spec.name == "transactions":
        cols += [BASKET_SALES, DISCOUNT_OVER_SALES]
    return cols


def raw_suite(spec: RawTable, bands: Bands = BUNDLED_BANDS) -> list:
    """The row expectations of one raw table (a fresh list: GX binds expectations to one suite)."""
    import great_expectations as gx

    E = gx.expectations
    fix_schema = {"fix": f"the upstream file must have exactly the columns of the {spec.name} contract"}
    cols = list(spec.columns) + _derived_columns(spec)
    exps: list = [E.ExpectTableColumnsToMatchSet(column_set=cols, exact_match=True, meta=fix_schema)]
    for col, typ in spec.columns.items():
        exps.append(E.ExpectColumnValuesToBeOfType(column=col, type_=_PANDAS_TYPE[typ], meta=fix_schema))
    for col in spec.not_null:
        exps.append(
            E.ExpectColumnValuesToNotBeNull(
                column=col, meta={"fix": f"{spec.name}.{col} is a required field; re-export the rows without it"}
            )
        )
    key_check: dict = (
        {"severity": soft(), "meta": {"reason": spec.soft_unique_key_reason}}
        if spec.soft_unique_key_reason
        else {"meta": {"fix": f"remove duplicate {spec.name} rows with the same {', '.join(spec.key)}"}}
    )
    if len(spec.key) == 1:
        exps.append(E.ExpectColumnValuesToBeUnique(column=spec.key[0], **key_check))
    else:
        exps.append(E.ExpectCompoundColumnsToBeUnique(column_list=list(spec.key), **key_check))
    for col in spec.non_negative:
        exps.append(
            E.ExpectColumnValuesToBeBetween(
                column=col,
                min_value=0,
                meta={"fix": f"{spec.name}.{col} must be >= 0 (amounts are stored as non-negative)"},
            )
        )
    if spec.daily:
        exps.append(
            E.ExpectColumnPairValuesToBeEqual(
                column_A=PARTITION_COL,
                column_B=EVENT_COL,
                meta={"fix": "every row must be dated on the partition's day; move the rows to their own day's file"},
            )
        )
    if spec.name == "campaign_descriptions":
        exps.append(
            E.ExpectColumnValuesToBeInSet(
                column="campaign_type",
                value_set=["Type A", "Type B", "Type C"],
                meta={"fix": "campaign_type must be one of Type A, Type B, Type C"},
            )
        )
        exps.append(
            E.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="end_date",
                column_B="start_date",
                or_equal=True,
                meta={"fix": "a campaign must end on or after its start"},
            )
        )
    if spec.name == "coupons":
        exps.append(
            E.ExpectColumnValuesToBeNull(
                column=UNKNOWN_PRODUCT, severity=soft(), meta={"reason": REASON_COUPON_PRODUCTS}
            )
        )
        exps.append(
            E.ExpectColumnValuesToBeNull(
                column=UNKNOWN_PRODUCT,
                mostly=1 - bands.max_unknown_product_share,
                meta={
                    "fix": "more than 5% of coupon rows name products missing from the products snapshot: "
                    "land the matching products snapshot"
                },
            )
        )
    if spec.name == "transactions":
        exps += _absurd_amounts(E, bands)
    if spec.name == "coupon_redemptions":
        exps.append(
            E.ExpectColumnValuesToBeNull(
                column=UNKNOWN_COUPON,
                meta={
                    "fix": "a redemption names a coupon that its campaign does not have in the coupons snapshot: "
                    "land the newer coupons snapshot, or correct the campaign_id of those rows"
                },
            )
        )
    return exps


def _absurd_amounts(E, bands: Bands) -> list:
    """Hard checks of amounts no real line or basket comes near (the bands' figures, measured on
    the real year): a unit or column mix-up in the export (cents as dollars, an id in an amount)."""
    units = "check the export's units (amounts in dollars, quantity in units) and columns, then re-export the day"
    return [
        E.ExpectColumnValuesToBeBetween(
            column="quantity",
            max_value=bands.max_line_quantity,
            meta={"fix": f"a line's quantity above {bands.max_line_quantity:,} is absurd: {units}"},
        ),
        E.ExpectColumnValuesToBeBetween(
            column="sales_value",
            max_value=bands.max_line_sales_value,
            meta={"fix": f"a line's sales_value above {bands.max_line_sales_value:,.0f} is absurd: {units}"},
        ),
        E.ExpectColumnValuesToBeBetween(
            column=BASKET_SALES,
            max_value=bands.max_basket_sales_value,
            meta={
                "fix": f"a basket whose sales_value sums above {bands.max_basket_sales_value:,.0f} is absurd: {units}"
            },
        ),
        E.ExpectColumnValuesToBeBetween(
            column=DISCOUNT_OVER_SALES,
            max_value=bands.max_discount_over_sales,
            meta={
                "fix": "a line's discounts (retail_disc + coupon_disc + coupon_match_disc) exceed its sales_value by "
                f"more than {bands.max_discount_over_sales:,.0f}, which is absurd: {units}"
            },
        ),
    ]


def profile_suite(bands: Bands = BUNDLED_BANDS) -> list:
    """Expectations on the partition profile of transactions (one row per partition)."""
    import great_expectations as gx

    E = gx.expectations
    exps = [
        E.ExpectColumnValuesToBeBetween(
            column="rows", min_value=1, severity=soft(), meta={"reason": bands.reason_empty_day}
        ),
        E.ExpectColumnValuesToBeBetween(
            column="volume_ratio",
            max_value=bands.max_volume_ratio,
            meta={
                "fix": f"the day holds more than {bands.max_volume_ratio:g}x the rows of the trailing median of "
                f"{BASELINE_DAYS} days: a duplicated or replayed export; re-export the day"
            },
        ),
        E.ExpectColumnValuesToBeBetween(
            column="volume_ratio",
            min_value=bands.low_volume_ratio,
            severity=soft(),
            meta={"reason": bands.reason_low_volume},
        ),
        E.ExpectColumnValuesToBeBetween(
            column="unknown_product_lines",
            max_value=0,
            severity=soft(),
            meta={"reason": bands.reason_unknown_products},
        ),
        E.ExpectColumnValuesToBeBetween(
            column="unknown_product_share",
            max_value=bands.max_unknown_product_share,
            meta={
                "fix": f"more than {bands.max_unknown_product_share:.0%} of the day's lines name products missing "
                "from the products snapshot: land the newer products snapshot before this day"
            },
        ),
    ]
    if bands.warn_volume_ratio is not None:
        exps.append(
            E.ExpectColumnValuesToBeBetween(
                column="volume_ratio",
                max_value=bands.warn_volume_ratio,
                severity=soft(),
                meta={
                    "reason": f"a busy day, above {bands.warn_volume_ratio:g}x the trailing median (a promotion, "
                    "or rows of other days: check it if the day was ordinary)"
                },
            )
        )
    return exps


def _read(data: bytes) -> pd.DataFrame:
    return pq.read_table(io.BytesIO(data)).to_pandas()


def _add_columns(df: pd.DataFrame, spec: RawTable, day: date | None, ctx: RawContext) -> pd.DataFrame:
    df = df.copy()
    if spec.daily:
        assert day is not None
        df[PARTITION_COL] = pd.Series(pd.Timestamp(day), index=df.index, dtype="datetime64[us]")
        if spec.event_column and spec.event_column in df.columns:
            event = pd.to_datetime(df[spec.event_column], errors="coerce").dt.floor("D")
        elif spec.name == "campaigns" and "campaign_id" in df.columns:
            # a recipient row lands on its campaign's (clamped) start date; unknown campaigns get NaT
            event = pd.to_datetime(df["campaign_id"].map(ctx.campaign_landing), errors="coerce")
        else:
            event = pd.Series(pd.NaT, index=df.index)
        df[EVENT_COL] = event.astype("datetime64[us]")
    if spec.name == "coupons":
        df[UNKNOWN_PRODUCT] = _unknown(df, ["product_id"], ctx.product_ids)
    if spec.name == "coupon_redemptions":
        df[UNKNOWN_COUPON] = _unknown(df, ["coupon_upc", "campaign_id"], ctx.coupon_campaigns)
    if spec.name == "transactions":
        df[BASKET_SALES], df[DISCOUNT_OVER_SALES] = _amounts(df)
    return df


def _amounts(df: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Each line's basket total (within the partition) and its discounts minus its sales_value;
    NaN where a column is missing or not a number (the schema checks report those)."""
    nan = pd.Series(np.nan, index=df.index, dtype="float64")
    cols = ["basket_id", "sales_value", "retail_disc", "coupon_disc", "coupon_match_disc"]
    if not all(c in df.columns for c in cols) or df.empty:
        return nan, nan.copy()
    sales = pd.to_numeric(df["sales_value"], errors="coerce").astype("float64")
    disc = sum(pd.to_numeric(df[c], errors="coerce").astype("float64").fillna(0.0) for c in cols[2:])
    basket = sales.groupby(df["basket_id"], dropna=True).transform("sum")
    return basket.reindex(df.index).astype("float64"), (disc - sales).astype("float64")


def _unknown(df: pd.DataFrame, cols: list[str], known) -> pd.Series:
    """The first column's value on rows whose ``cols`` are not in ``known``, else null."""
    out = pd.Series(pd.NA, index=df.index, dtype="Int64")
    if known is None or not all(c in df.columns for c in cols) or df.empty:
        return out
    try:
        keys = df[cols[0]] if len(cols) == 1 else pd.Series(list(zip(*(df[c] for c in cols))), index=df.index)
        missing = ~keys.isin(known) & df[cols].notna().all(axis=1)
        out[missing] = pd.to_numeric(df.loc[missing, cols[0]], errors="coerce").astype("Int64")
    except (TypeError, ValueError):  # wrong types: the type checks report it
        pass
    return out


def _label(day: date | None) -> str:
    return day.isoformat() if day else "snapshot"


def _span(days) -> str:
    labels = sorted(_label(d) for d in days)
    return labels[0] if len(labels) == 1 else f"{labels[0]}..{labels[-1]}"


def check_partitions(
    table: str,
    partitions: dict[date | None, bytes],
    campaign_landing: dict[int, date] | None = None,
    context: RawContext | None = None,
) -> dict[date | None, GateResult]:
    """Gate the parquet bytes of one table's partitions (keyed by day; None = snapshot)."""
    spec = RAW_TABLES[table]
    ctx = context or RawContext()
    if campaign_landing is not None:
        ctx = RawContext(campaign_landing, ctx.product_ids, ctx.coupon_campaigns, ctx.row_history, ctx.source)
    bands = bands_for(ctx.source)
    suite = partial(raw_suite, spec, bands)
    suite_name = f"raw.{table}{bands.suite_suffix}"
    results: dict[date | None, GateResult] = {}
    frames: dict[date | None, pd.DataFrame] = {}
    for day, data in partitions.items():
        try:
            df = _read(data)
        except Exception as exc:  # noqa: BLE001 - any parse error means an unusable file
            results[day] = GateResult(
                GATE,
                table,
                _label(day),
                [
                    CheckResult(
                        "readable_parquet",
                        None,
                        False,
                        "error",
                        f"not a readable parquet file ({exc.__class__.__name__}: {exc})",
                        "the upstream file is truncated or not parquet; re-export it",
                    )
                ],
            )
            continue
        frames[day] = _add_columns(df, spec, day, ctx)

    done = False
    if len(frames) > 1:
        batch = run_suite(suite_name, suite, pd.concat(frames.values(), ignore_index=True))
        if all(c.success or c.severity == WARNING for c in batch.checks):
            record = batch.record(GATE, table, _span(frames), [_label(d) for d in frames])
            for day in frames:
                results[day] = GateResult(GATE, table, _label(day), list(batch.checks), [record])
            done = True
    if not done:
        for day, df in frames.items():
            v = run_suite(suite_name, suite, df)
            results[day] = GateResult(
                GATE, table, _label(day), v.checks, [v.record(GATE, table, _label(day), [_label(day)])]
            )

    if table == "transactions" and frames:
        _profile_checks(frames, ctx, results)
    return results


# -- the partition profile (transactions) --------------------------------------------------


def partition_profile(frames: dict[date, pd.DataFrame], ctx: RawContext) -> pd.DataFrame:
    """One row per partition: rows, trailing baseline, volume ratio, lines of unknown products."""
    counts: dict[date, int] = dict(ctx.row_history)
    counts.update({d: len(df) for d, df in frames.items()})
    rows = []
    for day in sorted(frames):
        df = frames[day]
        before = [
            counts[d] for d in sorted(counts) if day - timedelta(days=BASELINE_WINDOW) <= d < day and counts[d] > 0
        ][-BASELINE_DAYS:]
        baseline = float(median(before)) if len(before) >= BASELINE_MIN_DAYS else np.nan
        n = len(df)
        unknown = np.nan
        if ctx.product_ids is not None and "product_id" in df.columns and n:
            pid = pd.to_numeric(df["product_id"], errors="coerce")
            unknown = float((~pid.isin(ctx.product_ids) & pid.notna()).sum())
        rows.append(
            {
                "partition": day.isoformat(),
                "rows": n,
                "baseline_rows": baseline,
                "volume_ratio": n / baseline if n and baseline == baseline and baseline > 0 else np.nan,
                "unknown_product_lines": unknown,
                "unknown_product_share": unknown / n if n and unknown == unknown else np.nan,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "partition",
            "rows",
            "baseline_rows",
            "volume_ratio",
            "unknown_product_lines",
            "unknown_product_share",
        ],
    ).astype(
        {
            "rows": "int64",
            "baseline_rows": "float64",
            "volume_ratio": "float64",
            "unknown_product_lines": "float64",
            "unknown_product_share": "float64",
        }
    )


def _profile_checks(frames: dict, ctx: RawContext, results: dict) -> None:
    """Validate the profile once, then give each partition the checks of its own row."""
    profile = partition_profile(frames, ctx)
    v: Validation = run_suite(
        "raw.transactions.profile" + bands_for(ctx.source).suite_suffix,
        partial(profile_suite, bands_for(ctx.source)),
        profile,
        index_columns=["partition"],
        complete=True,
    )
    record = v.record(GATE, "transactions", _span(frames), profile["partition"])
    by_day = profile.set_index("partition")
    for check, r in zip(v.checks, v.result.results):
        bad = set(unexpected_index(r, "partition"))
        errored = (r.exception_info or {}).get("raised_exception")
        for day in frames:
            label = _label(day)
            failed = errored or label in bad
            value = by_day.loc[label, check.column] if check.column in by_day.columns else None
            detail = (
                (
                    check.detail
                    if errored
                    else f"{check.column} = {_fmt(value)}" + _context(by_day.loc[label], check.column or "")
                )
                if failed
                else "ok"
            )
            results[day].checks.append(
                CheckResult(
                    check.check,
                    check.column,
                    not failed,
                    check.severity,
                    detail,
                    fix=check.fix if failed else "",
                    reason=check.reason if failed else "",
                )
            )
    for day in frames:  # the profile's one record, listed once per partition (not once per check)
        results[day].validations.append(record)


def _fmt(value) -> str:
    if value is None or value != value:
        return "n/a"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _context(row: pd.Series, column: str) -> str:
    if column == "volume_ratio":
        return f" ({int(row['rows'])} rows against a trailing median of {_fmt(row['baseline_rows'])})"
    if column in ("unknown_product_lines", "unknown_product_share"):
        return (
            f" ({_fmt(row['unknown_product_lines'])} of {int(row['rows'])} lines name products missing from products)"
        )
    if column == "rows":
        return " (no rows landed for this day)"
    return ""
