"""Versions of the static tables (products, coupons, campaign descriptions, demographics).

A snapshot lands as ``raw/<table>/snapshot/version=N/`` (N = 1, 2, ...), each version an
immutable dataset whose manifest records its ``version`` and ``valid_from``: the first data day
it describes. Version 1 is valid from the source's first day; a later version (a drop zone's
snapshot folder whose files changed, with its ``_SUCCESS``) is valid from the first day landed
after it was seen, i.e. the day after the last landed day (``next_landing_day``), so every day
landed before it keeps the version it was landed and gated with, and a re-run (or a run after a
kill) computes the same ``valid_from`` and the same bytes. A version is current on the days
``[valid_from, next version's valid_from)``; the marts read, for each as-of date A, the version
current on A's last data day (A - 1): dbt's staging carries ``snapshot_version``, ``valid_from``
and ``valid_to`` (exclusive) for that join. The bundled and synthetic sources never change, so
their lakes hold version 1 only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from couponflow.platform import manifest
from couponflow.platform.lake import SNAPSHOT_VERSION, snapshot_prefix
from couponflow.platform.storage import ObjectStore


@dataclass(frozen=True)
class SnapshotVersion:
    table: str
    version: int
    valid_from: date
    dataset: manifest.Dataset

    @property
    def prefix(self) -> str:
        return self.dataset.prefix

    @property
    def drop_files(self) -> dict[str, str] | None:
        """The drop files it was read from (a drop zone's), as their sha256 when it landed."""
        return self.dataset.manifest.get("drop_files")


def versions(store: ObjectStore, table: str) -> list[SnapshotVersion]:
    """Every published version of a snapshot, oldest first (a version whose manifest is not
    written yet, a crash's leftover, is not one)."""
    out = []
    for key in store.list(snapshot_prefix(table)):
        if not key.endswith("/" + manifest.MANIFEST):
            continue
        folder = key.rsplit("/", 2)[-2]
        if not folder.startswith(SNAPSHOT_VERSION):
            continue
        ds = manifest.read(store, key.rsplit("/", 1)[0])
        if ds is None:
            continue
        out.append(
            SnapshotVersion(table, int(ds.manifest["version"]), date.fromisoformat(ds.manifest["valid_from"]), ds)
        )
    return sorted(out, key=lambda v: v.version)


def current(store: ObjectStore, table: str, day: date | None = None) -> SnapshotVersion | None:
    """The version current on data day ``day`` (the latest valid from it or earlier; the first
    one for a day before every version), or the latest (``day`` None); None when none landed."""
    all_ = versions(store, table)
    if not all_:
        return None
    if day is None:
        return all_[-1]
    valid = [v for v in all_ if v.valid_from <= day]
    return valid[-1] if valid else all_[0]


def windows(all_: list[SnapshotVersion]) -> list[tuple[SnapshotVersion, date | None]]:
    """Each version with the day its validity ends (exclusive: the next version's valid_from)."""
    return [(v, all_[i + 1].valid_from if i + 1 < len(all_) else None) for i, v in enumerate(all_)]


def used(store: ObjectStore, table: str, first: date, last: date) -> list[SnapshotVersion]:
    """The versions current on some data day of ``[first, last]`` (what a report of those days covers)."""
    return [v for v, end in windows(versions(store, table)) if v.valid_from <= last and (end is None or end > first)]


def prefix_on(store: ObjectStore, table: str, day: date) -> str | None:
    """The prefix of the version current on ``day``, or None when the snapshot never landed."""
    v = current(store, table, day)
    return v.prefix if v else None
