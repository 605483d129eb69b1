"""Behavioural segments in the lake: the fits, and the segment of each candidate of a run date.

``models.segments`` is the pure part; this module reads the warehouse and the lake:

* a fit per fitting cut (``models.segments.fitting_cuts``: the first as-of date of each calendar
  year with 26 weeks of history) is published once under ``segments/cut=C/`` (``segmentation.json``:
  centroids, names, medians of each segment, the k-selection table; aggregates only) and read
  back from then on, so that a refit never happens behind a published report's back;
* the segments of run date D are the hysteresis fold of every as-of date from the first cut to D
  (``models.segments.fold``): a pure function of the household features and the fits, so two
  homes on the same data agree and a re-run gives the same bytes;
* ``attach_segments`` publishes ``segments/date=D/segments.parquet`` (household_id, segment_id,
  segment, the fit's cut) for the households of D's decision log, the record the report of D
  and of every later date reads (``forget`` rewrites it like the decision log it mirrors).

The daily run attaches them in its report step (``couponflow.app.report.segment_inputs``, which
the writer calls).
"""

from __future__ import annotations

import io
import json
from datetime import date

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from couponflow.platform import manifest
from couponflow.platform.lake import SEGMENT_TABLE, SEGMENTATION, SEGMENTS, dated_prefix, segmentation_prefix
from couponflow.platform.resources import Resources
from models.segments import (
    BASKET_ALL,
    SEGMENT_FEATURES,
    Segmentation,
    fit_in_force,
    fit_segmentation,
    fitting_cuts,
    fold,
)

_COLUMNS = ", ".join(("household_id", "as_of_date", *SEGMENT_FEATURES, BASKET_ALL))


def segmentations(res: Resources, through: date) -> dict[date, Segmentation]:
    """Every fit whose cut is on or before ``through``: read from the lake, or fitted once on
    ``household_features`` as of the cut and published."""
    dates = res.warehouse.query(
        "select as_of_date, first_landed from marts.as_of_dates where as_of_date <= ? order by 1", [through]
    )
    if dates.empty:
        return {}
    first_landed = pd.Timestamp(dates["first_landed"].min()).date()
    fits = {}
    for cut in fitting_cuts((pd.Timestamp(d).date() for d in dates["as_of_date"]), first_landed):
        prefix = segmentation_prefix(cut)
        ds = manifest.read(res.store, prefix)
        if ds is None:
            features = res.warehouse.query(
                f"select {_COLUMNS} from marts.household_features where as_of_date = ?", [cut]
            )
            seg = fit_segmentation(features, cut)
            manifest.publish(
                res.store,
                prefix,
                {SEGMENTATION: manifest.to_json_bytes(seg.to_dict())},
                {"kind": "segmentation", "cut": cut.isoformat(), "k": seg.k},
            )
            fits[cut] = seg
        else:
            fits[cut] = Segmentation.from_dict(json.loads(manifest.read_object(res.store, ds, SEGMENTATION)))
    return fits


def household_segments(res: Resources, day: date) -> pd.DataFrame | None:
    """household_id, segment_id, segment, cut of every household with features as of ``day``;
    None when ``day`` is not an as-of date or no fit is in force yet."""
    fits = segmentations(res, day)
    if not fits or fit_in_force(fits, day) is None:
        return None
    rows = res.warehouse.query(
        f"select {_COLUMNS} from marts.household_features where as_of_date between ? and ? "
        "order by as_of_date, household_id",
        [min(fits), day],
    )
    frames = [(pd.Timestamp(d).date(), g) for d, g in rows.groupby("as_of_date", sort=True)]
    if not frames or frames[-1][0] != day:
        return None
    out = fold(fits, frames)
    if out is None:
        return None
    seg = fit_in_force(fits, day)
    assert seg is not None
    return out.assign(cut=seg.cut).sort_values("household_id", kind="stable").reset_index(drop=True)


def published_segments(res: Resources, day: date) -> pd.DataFrame | None:
    ds = manifest.read(res.store, dated_prefix(SEGMENTS, day))
    if ds is None:
        return None
    return pq.read_table(io.BytesIO(manifest.read_object(res.store, ds, SEGMENT_TABLE))).to_pandas()


def attach_segments(res: Resources, day: date, decisions: pd.DataFrame | None) -> pd.DataFrame | None:
    """The segments of the households of ``day``'s decision log, published once under
    ``segments/date=D/`` and read back after (re-published only when a forced re-decision
    changed the households). None when there is no decision log or no fit yet."""
    if decisions is None or decisions.empty:
        return None
    households = sorted({int(h) for h in decisions["household_id"]})
    existing = published_segments(res, day)
    if existing is not None and sorted(existing["household_id"].astype(int)) == households:
        return existing
    everyone = household_segments(res, day)
    if everyone is None:
        return None
    table = everyone[everyone["household_id"].isin(households)].reset_index(drop=True)
    data = manifest.parquet_bytes(pa.Table.from_pandas(table, preserve_index=False))
    manifest.publish(
        res.store,
        dated_prefix(SEGMENTS, day),
        {SEGMENT_TABLE: data},
        {"kind": "segments", "run_date": day.isoformat(), "cut": str(table["cut"].iloc[0]) if len(table) else None},
        force=True,
    )
    return table
