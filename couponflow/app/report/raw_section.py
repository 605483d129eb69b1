"""The raw part of a run date's report, read from the lake, never from the memory of the run.

A run killed during its catch-up and then re-run lands the days in two runs; a report built
from what the second run remembers would lack every partition the first one landed (the issue
that made this module). So the report of ``D`` covers, whichever runs landed them:

* the daily partitions of the days ``[P, D-1]``, where ``P`` is the latest date before ``D``
  with a published campaign (``daily(P)`` landed everything before ``P``), or the lake's first
  landed day when there is none: the days that ``D`` is the first decision to use;
* the snapshot versions current on some of those days (``couponflow.platform.snapshots``).

Their gate results are the ``validation.json`` that landing published beside each partition,
folded per problem (``gates._aggregate_raw``). The Data Docs pages of the partitions the page
lists as rows (``D-1``'s daily tables and the snapshots) come from a GX validation of each
partition alone, on the bytes the lake holds, against the context its landing saw (rebuilt by
``couponflow.platform.landing.partition_context``): landing validates a catch-up's partitions
as one batch (one GX run for the year), and a batch's record depends on which run landed what,
so it cannot give the same page twice. A re-validation that disagrees with the stored verdict
is logged; the page shows the stored verdict.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from couponflow.platform import manifest, snapshots
from couponflow.platform.contract import DAILY_TABLES, SNAPSHOT_TABLES
from couponflow.platform.gate_results import GateResult
from couponflow.platform.lake import PART, VALIDATION, raw_prefix
from couponflow.platform.landing import RawContext, Source, landed_days, partition_context, snapshot_context
from couponflow.platform.schedule import published_dates
from couponflow.platform.storage import ObjectStore

log = logging.getLogger(__name__)


def covered_days(store: ObjectStore, run_date: date) -> list[date]:
    """The landed days whose partitions the report of ``run_date`` covers (see the module doc)."""
    before = [d for d in published_dates(store) if d < run_date]
    landed = [d for d in landed_days(store) if d < run_date]
    if not landed:
        return []
    start = before[-1] if before else landed[0]
    return [d for d in landed if d >= start]


def _stored(store: ObjectStore, prefix: str) -> GateResult | None:
    ds = manifest.read(store, prefix)
    if ds is None or not any(o["name"] == VALIDATION for o in ds.objects):
        return None
    return GateResult.from_dict(json.loads(manifest.read_object(store, ds, VALIDATION)))


def lake_results(store: ObjectStore, run_date: date) -> list[GateResult]:
    """The raw-gate results the lake holds for the partitions the report of ``run_date`` covers."""
    days = covered_days(store, run_date)
    prefixes = [raw_prefix(t.name, d) for d in days for t in DAILY_TABLES]
    first, last = (days[0] if days else run_date - timedelta(days=1)), run_date - timedelta(days=1)
    prefixes += [v.prefix for t in SNAPSHOT_TABLES for v in snapshots.used(store, t.name, first, last)]
    return [r for r in (_stored(store, p) for p in prefixes) if r is not None]


def row_partitions(run_date: date) -> list[tuple[str, date | None]]:
    """The partitions the report lists as rows: the day before ``run_date`` and the snapshots."""
    return [(t.name, run_date - timedelta(days=1)) for t in DAILY_TABLES] + [(t.name, None) for t in SNAPSHOT_TABLES]


def snapshot_version_context(store: ObjectStore, source: Source, version: snapshots.SnapshotVersion) -> RawContext:
    """The context a snapshot version was landed against: the other snapshots' versions current on
    its ``valid_from`` (the latest when it landed, or the ones landed with it), not the lake's
    latest, which a later version may have replaced."""
    return replace(snapshot_context(store, day=version.valid_from), source=source.name)


def revalidated_records(store: ObjectStore, source: Source, run_date: date) -> list[dict[str, Any]]:
    """GX's records of each row partition validated alone (for its Data Docs page)."""
    from expectations.raw_gate import check_partitions

    records: list[dict[str, Any]] = []
    for table, day in row_partitions(run_date):
        if day is None:  # a snapshot: the version current on the day before the run date (its marts')
            version = snapshots.current(store, table, run_date - timedelta(days=1))
            if version is None:
                continue
            ds = version.dataset
            context = snapshot_version_context(store, source, version)
        else:
            landed = manifest.read(store, raw_prefix(table, day))
            if landed is None:  # not landed here: no page, and no context to ask the lake for
                continue
            ds, context = landed, partition_context(store, source, day)
        data = manifest.read_object(store, ds, PART)
        result = check_partitions(table, {day: data}, context=context)[day]
        stored = _stored(store, ds.prefix)
        if stored is not None and stored.to_dict() != result.to_dict():
            log.warning("%s: the re-validation for Data Docs disagrees with the result stored at landing", ds.prefix)
        records += result.validations
    return records
