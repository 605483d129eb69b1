"""Landing wired to the raw gate: the platform lands, ``expectations.raw_gate`` checks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from couponflow.platform import landing
from couponflow.platform.resources import Resources
from couponflow.platform.storage import ObjectStore
from expectations.raw_gate import check_partitions


def land_through(
    store: ObjectStore,
    source: landing.Source,
    last_day: date,
    on_progress: Callable[[int, int], None] | None = None,
    batch_days: int | None = None,
) -> landing.LandingReport:
    """Land every missing day up to ``last_day``, each partition gated before it is published,
    in batches of at most ``batch_days`` days (``COUPONFLOW_LAND_BATCH_DAYS``; None: one batch)."""
    return landing.land_through(
        store, source, last_day, check_partitions, on_progress=on_progress, batch_days=batch_days
    )


def reland(res: Resources, day: date) -> landing.LandingReport:
    """``--reland D``: re-land a landed day of the drop zone from its files as they are now
    (gated, new manifests), and mark the home's warehouse for a full build: its incremental models
    never revisit an old day. The mark is written first and cleared only by a full build that
    succeeded, so a run that dies in between leaves the next run to rebuild in full. (Deleting the
    file instead is not safe inside one process: dbt-duckdb keeps its connection to the old file.)"""
    marker = _full_build_marker(res)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(f"re-landed {day.isoformat()}\n")
    return landing.reland_day(res.store, res.source, day, check_partitions)


def _full_build_marker(res: Resources) -> Path:
    return res.settings.home_dir / "warehouse.full-build-needed"


def full_build_needed(res: Resources) -> bool:
    """Whether a re-landed day waits for a full build of the warehouse (see ``reland``)."""
    return _full_build_marker(res).exists()


def full_build_done(res: Resources) -> None:
    _full_build_marker(res).unlink(missing_ok=True)
