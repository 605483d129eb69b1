"""Which run dates are valid, and which one comes next."""

from __future__ import annotations

import json
from datetime import date, timedelta

from couponflow.platform import lake
from couponflow.platform.manifest import MANIFEST
from couponflow.platform.storage import ObjectStore


class RunDateError(ValueError):
    """A run date outside what the source can support."""


def check_run_date(run_date: date, first_day: date, last_day: date) -> date:
    """daily(D) lands the days before D, so D must lie in (first_day, last_day + 1]."""
    lo, hi = first_day + timedelta(days=1), last_day + timedelta(days=1)
    if not lo <= run_date <= hi:
        raise RunDateError(
            f"run date {run_date} is outside what the source holds: daily(D) lands the days before "
            f"D, so D must be between {lo} and {hi}; pick a date in that range"
        )
    return run_date


def published_dates(store: ObjectStore) -> list[date]:
    out = []
    for key in store.list(lake.dated_area(lake.CAMPAIGNS)):
        if key.endswith("/" + MANIFEST):
            out.append(lake.date_of(key))
    return sorted(out)


def _finished(store: ObjectStore, day: date) -> bool:
    """The run of ``day`` finished: ``campaigns/latest.json``, advanced after its report, names it or later."""
    try:
        latest = json.loads(store.get(lake.LATEST_CAMPAIGN))
    except KeyError:
        return False
    return date.fromisoformat(latest["run_date"]) >= day


def next_run_date(store: ObjectStore, first_day: date) -> date:
    """The day after the latest published campaign, or the first day that has data before it.

    A run that died between the latest campaign and its report (or ``campaigns/latest.json``)
    left that date unfinished: it comes next again, and the re-run reuses its campaign and
    completes it; moving on would leave the date without a report forever."""
    done = published_dates(store)
    if not done:
        return first_day + timedelta(days=1)
    return done[-1] if not _finished(store, done[-1]) else done[-1] + timedelta(days=1)


def date_range(start: date, end: date) -> list[date]:
    if end < start:
        raise RunDateError(f"--end {end} is before --start {start}: both ends are inclusive, swap them")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]
