"""Landing wired to the raw gate: the platform lands, ``expectations.raw_gate`` checks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from couponflow.platform import landing
from couponflow.platform.storage import ObjectStore
from expectations.raw_gate import check_partitions


def land_through(
    store: ObjectStore, source: landing.Source, last_day: date, on_progress: Callable[[int, int], None] | None = None
) -> landing.LandingReport:
    """Land every missing day up to ``last_day``, each partition gated before it is published."""
    return landing.land_through(store, source, last_day, check_partitions, on_progress=on_progress)
