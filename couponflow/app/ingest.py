"""Landing wired to the raw gate: the platform lands, ``expectations.raw_gate`` checks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from couponflow.platform import landing
from couponflow.platform.resources import Resources
from couponflow.platform.storage import ObjectStore
from expectations.raw_gate import check_partitions


def land_through(
    store: ObjectStore, source: landing.Source, last_day: date, on_progress: Callable[[int, int], None] | None = None
) -> landing.LandingReport:
    """Land every missing day up to ``last_day``, each partition gated before it is published."""
    return landing.land_through(store, source, last_day, check_partitions, on_progress=on_progress)


def reland(res: Resources, day: date) -> landing.LandingReport:
    """``--reland D``: re-land a landed day of the drop zone from its files as they are now
    (gated, new manifests), then remove the warehouse, a working copy whose incremental models
    never revisit an old day: the next build rebuilds it in full from the lake."""
    report = landing.reland_day(res.store, res.source, day, check_partitions)
    wh = res.settings.warehouse_path
    for path in (wh, wh.with_name(wh.name + ".wal")):
        path.unlink(missing_ok=True)
    return report
