"""A Data Docs page for every daily raw partition the report of a run date covers.

The report of ``D`` covers the days ``raw_section.covered_days`` lists (302 days for a fresh
home's first run, one day for an ordinary incremental day). Each of those partitions gets the
page GX gives it validated alone, against the context its landing saw, whichever runs landed
what: a killed and re-run catch-up gives the same pages. They are divided from one GX run per
table over the covered days (``expectations.partition_docs``: about a second per run, where one
run per partition would cost about a second each). The records live in the report's Data Docs
only (``gates.json`` keeps the rows' records, as before): the page per partition is the evidence,
rebuilt from the lake's bytes whenever the report is.
"""

from __future__ import annotations

from typing import Any

from couponflow.app.report.raw_section import covered_days
from couponflow.platform import manifest
from couponflow.platform.contract import DAILY_TABLES
from couponflow.platform.lake import PART, raw_prefix
from couponflow.platform.landing import Source, partition_context
from couponflow.platform.storage import ObjectStore


def partition_records(store: ObjectStore, source: Source, run_date) -> list[dict[str, Any]]:
    """GX's record of every daily partition the report of ``run_date`` covers, each as if validated alone."""
    from expectations.partition_docs import partition_records as divided

    days = covered_days(store, run_date)
    if not days:
        return []
    context = partition_context(store, source, days[0])
    out: list[dict[str, Any]] = []
    for table in DAILY_TABLES:
        parts = {}
        for d in days:
            ds = manifest.read(store, raw_prefix(table.name, d))
            if ds is not None:
                parts[d] = manifest.read_object(store, ds, PART)
        if parts:
            records = divided(table.name, parts, context, lambda d: partition_context(store, source, d))
            out += [r for d in sorted(records) for r in records[d]]
    return out
