"""Landing: the source's days become immutable, gated partitions of the lake.

``land_through(store, source, last_day)`` lands every day from the source's first day to
``last_day`` that the lake does not hold yet (plus the static snapshots, and a new version of a
snapshot that changed upstream: ``couponflow.platform.snapshots``), in date order. The
bytes of every new partition pass the raw gate *before* anything is written to ``raw/``; a day
is published (data first, manifest last) only when all its tables pass. The first failing day
is written to ``quarantine/raw/date=D/<table>/`` with its validation result, the days before it
stay landed, and ``GateFailed`` stops the run with a one-line reason. A day already landed is
skipped, so re-landing changes no byte.

The gate is handed in (``check``: ``expectations.raw_gate.check_partitions`` in every run, wired
by ``couponflow.app.ingest``), so the platform runs no check of its own. It checks each partition
against a ``RawContext`` built from the lake: the snapshots (product ids, each campaign's
coupons, campaign start dates) and the row counts of the days already landed (the trailing
baseline of the volume check).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import partial
from typing import Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from couponflow.platform import erasures, manifest, snapshots
from couponflow.platform.contract import DAILY_TABLES, RAW_CONTRACT_VERSION, SNAPSHOT_TABLES
from couponflow.platform.gate_results import WARNING, CheckResult, GateFailed, GateResult
from couponflow.platform.lake import PART, VALIDATION, date_of, raw_prefix, raw_table_prefix, snapshot_prefix
from couponflow.platform.quarantine import write_quarantine
from couponflow.platform.sources.base import BadDropFile, DropFileChanged, DropSource, UpstreamNotReady
from couponflow.platform.storage import ObjectStore

__all__ = [
    "GateFailed",
    "LandingReport",
    "RawCheck",
    "RawContext",
    "land_through",
    "landed_days",
    "partition_context",
    "published_days",
]

ROW_HISTORY_DAYS = 28  # days of landed row counts handed to the gate (its volume baseline window)


@dataclass(frozen=True)
class RawContext:
    """What partitions are checked against: the snapshots and the lake's recent history."""

    campaign_landing: dict[int, date] = field(default_factory=dict)  # campaign id -> landing day
    product_ids: frozenset[int] | None = None  # the products snapshot
    coupon_campaigns: frozenset[tuple[int, int]] | None = None  # (coupon_upc, campaign_id) of coupons
    row_history: dict[date, int] = field(default_factory=dict)  # transactions rows of landed days
    # whose bands the gate applies (DESIGN: gate thresholds are per source)
    source: str = "completejourney"


class RawCheck(Protocol):
    """The raw gate: one table's partitions (parquet bytes by day; None = snapshot) -> results."""

    def __call__(
        self, table: str, partitions: dict[date | None, bytes], *, context: RawContext
    ) -> dict[date | None, GateResult]: ...


class Source(Protocol):
    name: str

    @property
    def first_day(self) -> date: ...
    @property
    def last_day(self) -> date: ...

    def day(self, table: str, d: date) -> pa.Table: ...
    def snapshot(self, table: str) -> pa.Table: ...


@dataclass
class LandingReport:
    landed_days: list[date] = field(default_factory=list)
    landed_snapshots: list[str] = field(default_factory=list)
    gate_results: list[GateResult] = field(default_factory=list)


def published_days(store: ObjectStore, table: str) -> set[date]:
    """Days of one daily table that a manifest publishes (the table alone, landed or not)."""
    out = set()
    for key in store.list(raw_table_prefix(table, daily_only=True)):
        if key.endswith("/" + manifest.MANIFEST):
            out.add(date_of(key))
    return out


def landed_days(store: ObjectStore) -> list[date]:
    """Days that are landed: every daily table of the day is published (DESIGN: a day with only
    some tables is pending, and the next run lands it whole)."""
    days = [published_days(store, spec.name) for spec in DAILY_TABLES]
    return sorted(set.intersection(*days))


def _meta(source: Source, table: str, d: date | None, version: tuple[int, date] | None = None) -> dict:
    meta: dict[str, object] = {
        "kind": "raw",
        "contract": RAW_CONTRACT_VERSION,
        "source": source.name,
        "table": table,
        "partition": d.isoformat() if d else "snapshot",
    }
    if version is not None:  # a snapshot's version and the first data day it describes
        meta["version"], meta["valid_from"] = version[0], version[1].isoformat()
    drop = as_drop(source)
    if drop is not None:  # what was read, so that a file changed later is refused (check_unchanged)
        meta["drop_files"] = drop.drop_files(table, d)
    return meta


def as_drop(source: object) -> DropSource | None:
    """The source as a drop zone (upstream files, markers, recorded hashes), or None.

    Looked up on the type: an instance lookup would evaluate ``first_day`` of an empty zone."""
    if callable(getattr(type(source), "drop_files", None)) and callable(getattr(type(source), "waiting_for", None)):
        return source  # type: ignore[return-value]
    return None


def _validation(result: GateResult) -> bytes:
    return manifest.to_json_bytes(result.to_dict())


def _quarantine(
    store: ObjectStore, result: GateResult, d: date | None, data: bytes, drops: dict[str, bytes] | None = None
) -> None:
    """The refused partition, its validation, and the drop files named as holding the refused
    rows under ``drop/<name>`` (a drop file may be called part-0.parquet too)."""
    files = {PART: data, **{f"drop/{key.rsplit('/', 1)[-1]}": b for key, b in (drops or {}).items()}}
    write_quarantine(store, result, d, files)


def _named(
    source: Source,
    check: RawCheck,
    context: RawContext,
    result: GateResult,
    d: date | None,
    keep: Callable[[pa.Table], pa.Table],
) -> tuple[GateResult, dict[str, bytes]]:
    """A failed result of a drop-zone folder with the drop file(s) holding the refused rows named
    in each failure's detail, and their bytes (key in the zone -> bytes) for the quarantine.

    A folder of one file names it. With several, each file is gated alone (only on a failure:
    one more gate run per file) and the files that fail a check of the day alone are named; when
    none does (duplicates across files, a day too big only together) every file is named, as
    together. Not a drop zone: the result as it is."""
    file_tables = getattr(as_drop(source), "file_tables", None)
    if file_tables is None:
        return result, {}
    files = file_tables(result.table, d)
    if not files:
        return result, {}
    guilty, together = list(files), False
    if len(files) > 1:
        failing = {(c.check, c.column) for c in result.failures}
        alone = {
            key: check(result.table, {d: manifest.parquet_bytes(keep(rows))}, context=context)[d]
            for key, (_, rows) in files.items()
        }
        guilty = [key for key, r in alone.items() if failing & {(c.check, c.column) for c in r.failures}]
        together = not guilty
        guilty = guilty or list(files)
    what = f"drop zone file{'s' if len(guilty) > 1 else ''} {', '.join(guilty)}" + (" (together)" if together else "")
    checks = [
        c if c.success or c.severity == WARNING else replace(c, detail=f"in {what}: {c.detail}") for c in result.checks
    ]
    named = GateResult(result.gate, result.table, result.partition, checks, result.validations)
    return named, {key: files[key][0] for key in guilty}


def _snapshot_table(store: ObjectStore, table: str, pending: dict[str, bytes], day: date | None) -> pa.Table | None:
    """A snapshot as it is being landed now, or the version the lake holds current on ``day``
    (None: the latest)."""
    if table in pending:
        return pq.read_table(io.BytesIO(pending[table]))
    v = snapshots.current(store, table, day)
    return pq.read_table(io.BytesIO(manifest.read_object(store, v.dataset, PART))) if v else None


def snapshot_context(
    store: ObjectStore, pending: dict[str, bytes] | None = None, day: date | None = None
) -> RawContext:
    """The referential part of the raw gate's context: product ids and each campaign's coupons,
    of the snapshot versions current on ``day`` (None: the latest, or the ones being landed)."""
    pending = pending or {}
    products = _snapshot_table(store, "products", pending, day)
    coupons = _snapshot_table(store, "coupons", pending, day)
    return RawContext(
        product_ids=frozenset(products["product_id"].to_pylist()) if products is not None else None,
        coupon_campaigns=(
            frozenset(zip(coupons["coupon_upc"].to_pylist(), coupons["campaign_id"].to_pylist()))
            if coupons is not None
            else None
        ),
    )


def _row_history(store: ObjectStore, first_pending: date) -> dict[date, int]:
    """Transactions rows of the landed days in the baseline window before ``first_pending``."""
    out = {}
    for i in range(1, ROW_HISTORY_DAYS + 1):
        d = first_pending - timedelta(days=i)
        ds = manifest.read(store, raw_prefix("transactions", d))
        if ds is not None:
            out[d] = ds.rows()
    return out


def partition_context(store: ObjectStore, source: Source, day: date | None) -> RawContext:
    """The context a landed partition of ``day`` (None: a snapshot) is checked against when it
    is landed alone, rebuilt from the lake: a re-validation of that partition (the report's Data
    Docs) sees what its landing saw, whichever run landed it."""
    snap = replace(snapshot_context(store, day=day), source=source.name)  # the bands of the source that landed it
    if day is None:
        return snap
    return RawContext(
        campaign_landing_dates(store, source, day),
        snap.product_ids,
        snap.coupon_campaigns,
        _row_history(store, day),
        source.name,
    )


def _read(store: ObjectStore, source: Source, table: str, d: date | None, report: LandingReport) -> pa.Table:
    """A table's day (or snapshot) from the source; a drop file that cannot be read under the
    contract goes to quarantine with its one line, and stops the run like a gate (GateFailed)."""
    try:
        return source.snapshot(table) if d is None else source.day(table, d)
    except BadDropFile as exc:
        result = GateResult(
            "raw",
            table,
            d.isoformat() if d else "snapshot",
            [
                CheckResult(
                    "readable_drop_file",
                    None,
                    False,
                    "critical",
                    str(exc),
                    "correct the file in the drop zone; the next run lands the day once every file reads",
                )
            ],
        )
        name = exc.key.rsplit("/", 1)[-1] if exc.key else None
        write_quarantine(store, result, d, {name: exc.data} if name and exc.data is not None else {})
        raise GateFailed([result], list(report.gate_results) + [result]) from None


def next_landing_day(store: ObjectStore, source: Source) -> date:
    """The first day a landing run lands now: the day after the last landed day (a half-landed
    day is not landed), or the source's first day. A new snapshot version is valid from it."""
    done = landed_days(store)
    return done[-1] + timedelta(days=1) if done else source.first_day


def land_snapshots(store: ObjectStore, source: Source, check: RawCheck, report: LandingReport) -> None:
    """Land each snapshot the lake lacks as version 1 (valid from the source's first day) and,
    from a drop zone, a snapshot folder whose files changed since the latest version (its
    ``_SUCCESS`` written) as version N+1, valid from ``next_landing_day``; a folder whose rows are
    the latest version's bytes (files renamed, re-exported alike) is no new version. A folder
    without its marker, or purged upstream, leaves the latest version current. Versions landed
    are never rewritten (``forget`` aside)."""
    keep = erasures.drop_erased(store)  # a forgotten household never comes back from the source
    drop = as_drop(source)
    pending: dict[str, bytes] = {}
    version: dict[str, tuple[int, date]] = {}
    for spec in SNAPSHOT_TABLES:
        latest = snapshots.current(store, spec.name)
        if latest is None:
            version[spec.name] = (1, source.first_day)
        elif (
            drop is not None
            and drop.complete(spec.name, None)
            and drop.drop_files(spec.name, None) != latest.drop_files
        ):
            version[spec.name] = (latest.version + 1, next_landing_day(store, source))
        else:
            continue
        data = manifest.parquet_bytes(keep(_read(store, source, spec.name, None, report)))
        if latest is not None and manifest.sha256(data) == _object_sha(latest.dataset, PART):
            del version[spec.name]  # the same rows: the latest version stays current
            continue
        pending[spec.name] = data
    if not pending:
        return
    context = replace(snapshot_context(store, pending), source=source.name)
    for spec in SNAPSHOT_TABLES:
        if spec.name not in pending:
            continue
        prefix = snapshot_prefix(spec.name, version[spec.name][0])
        data = pending[spec.name]
        result = check(spec.name, {None: data}, context=context)[None]
        drops: dict[str, bytes] = {}
        if not result.success:
            result, drops = _named(source, check, context, result, None, keep)
        report.gate_results.append(result)
        if not result.success:
            _quarantine(store, result, None, data, drops)
            raise GateFailed([result], list(report.gate_results))
        manifest.publish(
            store,
            prefix,
            {PART: data, VALIDATION: _validation(result)},
            _meta(source, spec.name, None, version[spec.name]),
        )
        report.landed_snapshots.append(spec.name)


def _object_sha(ds: manifest.Dataset, name: str) -> str | None:
    return next((o["sha256"] for o in ds.objects if o["name"] == name), None)


def campaign_landing_dates(store: ObjectStore, source: Source, day: date | None = None) -> dict[int, date]:
    """Campaign id -> the day its recipients land: its start, or the source's first day (from
    the campaign descriptions current on ``day``; None: the latest)."""
    v = snapshots.current(store, "campaign_descriptions", day)
    assert v is not None, "land_snapshots runs first"
    desc = pq.read_table(io.BytesIO(manifest.read_object(store, v.dataset, PART)))
    return {
        int(cid): max(start.date(), source.first_day)
        for cid, start in zip(desc["campaign_id"].to_pylist(), desc["start_date"].to_pylist())
    }


def check_unchanged(store: ObjectStore, drop: DropSource) -> None:
    """Refuse, naming the file, a drop file that differs from what its landed partition recorded
    (changed, added or removed in a folder the upstream still holds). A folder the upstream has
    purged is not a change: the lake keeps what it landed. A snapshot that changed is no
    refusal: it lands as a new version (``land_snapshots``)."""
    for spec in DAILY_TABLES:
        for key in store.list(raw_table_prefix(spec.name)):
            if not key.endswith("/" + manifest.MANIFEST):
                continue
            ds = manifest.read(store, key.rsplit("/", 1)[0])
            if ds is None or "drop_files" not in ds.manifest:
                continue
            d = date.fromisoformat(ds.manifest["partition"])
            if not drop.complete(spec.name, d) and not drop.drop_files(spec.name, d):
                continue  # purged upstream
            _compare(spec.name, d, ds.manifest["drop_files"], drop.drop_files(spec.name, d))


def _compare(table: str, d: date, landed: dict[str, str], now: dict[str, str]) -> None:
    where = f"{table}/date={d.isoformat()}"
    for name in sorted(set(landed) | set(now)):
        if landed.get(name) == now.get(name):
            continue
        if name not in now:
            what = "was removed"
        elif name not in landed:
            what = "appeared"
        else:
            what = f"changed (sha256 {landed[name][:12]} landed, {now[name][:12]} now)"
        raise DropFileChanged(
            f"drop zone file {where}/{name} {what} after {d} was landed: the lake keeps what it landed; to take the "
            f"new file, re-land the day: couponflow daily --reland {d} (add --force to re-decide published dates)"
        )


class RelandError(ValueError):
    """``--reland D`` cannot apply: not a drop zone, or D was never landed (exit 2)."""


def check_reland(store: ObjectStore, source: Source, day: date) -> DropSource:
    """``--reland D`` re-lands a landed day of a drop zone; anything else is refused in one line."""
    drop = as_drop(source)
    if drop is None:
        raise RelandError(
            f"--reland re-lands drop-zone files, and the source is {source.name}: set COUPONFLOW_SOURCE=dropzone, "
            "or drop --reland"
        )
    if day not in set(landed_days(store)):
        raise RelandError(
            f"--reland {day}: that day is not landed, so there is nothing to re-land (it lands as usual): drop --reland"
        )
    return drop


def reland_day(store: ObjectStore, source: Source, day: date, check: RawCheck) -> LandingReport:
    """Re-land a landed day from the drop zone as it is now: gated like any day, published under
    new manifests (``--reland D``; the days after it and the snapshots stay as landed)."""
    drop = check_reland(store, source, day)
    waiting = drop.waiting_for([day])
    if waiting:
        raise UpstreamNotReady(_waiting_line(waiting, 0))
    report = LandingReport()
    _land_days(store, source, [day], check, report, force=True)
    return report


def _waiting_line(waiting: dict[date, list[str]], landed: int) -> str:
    first = min(waiting)
    later = len(waiting) - 1
    return (
        f"upstream not ready: the drop zone's day {first} is incomplete, waiting for "
        + ", ".join(f"{t}/date={first}/_SUCCESS" for t in waiting[first])
        + (f" and {later} later day(s)" if later else "")
        + f"; {landed} complete day(s) before it landed, nothing of {first} or later: retry when the upstream has "
        "written its markers"
    )


def land_through(
    store: ObjectStore,
    source: Source,
    last_day: date,
    check: RawCheck,
    on_progress: Callable[[int, int], None] | None = None,
    batch_days: int | None = None,
) -> LandingReport:
    """Land every missing day up to and including ``last_day`` (never later), gated by ``check``.

    The pending days land in batches of at most ``batch_days`` (None: all in one), each read,
    gated and published before the next is read, so memory is bounded by the batch. A batch's
    gate sees the row counts of the days before it in the lake (the earlier batches), so its
    verdicts and every byte landed are the same whatever the batch size.

    From a drop zone: a drop file changed since its day landed is refused first
    (``DropFileChanged``); complete days land up to the first incomplete one, which raises
    ``UpstreamNotReady`` (exit 3) after them."""
    report = LandingReport()
    drop = as_drop(source)
    if drop is not None:
        check_unchanged(store, drop)
    land_snapshots(store, source, check, report)
    last_day = min(last_day, source.last_day)
    n = (last_day - source.first_day).days + 1
    wanted = [source.first_day + timedelta(i) for i in range(max(n, 0))]
    done = set(landed_days(store))
    # a half-landed day (a crash between its tables) is pending: re-publishing the tables it
    # already has is a no-op (same bytes, same manifest), the missing ones complete it
    pending = [d for d in wanted if d not in done]
    waiting = drop.waiting_for(pending) if drop is not None else {}
    if waiting:
        pending = [d for d in pending if d < min(waiting)]
    if batch_days is not None and batch_days < 1:
        raise ValueError(f"batch_days must be at least 1, not {batch_days}")
    size = batch_days if batch_days is not None else max(len(pending), 1)
    for start in range(0, len(pending), size):
        batch = pending[start : start + size]
        progress = None
        if on_progress is not None:  # the catch-up's progress, not the batch's
            progress = partial(_progress_from, on_progress, start, len(pending))
        _land_days(store, source, batch, check, report, on_progress=progress)
    if waiting:
        raise UpstreamNotReady(_waiting_line(waiting, len(pending)))
    return report


def _progress_from(on_progress: Callable[[int, int], None], before: int, total: int, done: int, _: int) -> None:
    on_progress(before + done, total)


def _land_days(
    store: ObjectStore,
    source: Source,
    pending: list[date],
    check: RawCheck,
    report: LandingReport,
    *,
    force: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> None:
    """Gate ``pending`` (each table's days in one batch), then publish them day by day, data first.

    Everything of ``pending`` is held in memory at once: ``land_through`` hands it one batch."""
    if not pending:
        return

    # serialise every pending partition, then gate each table's partitions in one batch
    keep = erasures.drop_erased(store)  # a forgotten household never comes back from the source
    files: dict[str, dict[date | None, bytes]] = {
        spec.name: {d: manifest.parquet_bytes(keep(_read(store, source, spec.name, d, report))) for d in pending}
        for spec in DAILY_TABLES
    }
    snap = snapshot_context(store, day=pending[0])  # the versions current on the days landed
    context = RawContext(
        campaign_landing_dates(store, source, pending[0]),
        snap.product_ids,
        snap.coupon_campaigns,
        _row_history(store, pending[0]),
        source.name,
    )
    results = {name: check(name, parts, context=context) for name, parts in files.items()}

    for i, d in enumerate(pending):
        day_results = [results[spec.name][d] for spec in DAILY_TABLES]
        drops: dict[str, dict[str, bytes]] = {}
        for j, r in enumerate(day_results):
            if not r.success:  # name the drop file(s) that hold the refused rows
                day_results[j], drops[r.table] = _named(source, check, context, r, d, keep)
        report.gate_results.extend(day_results)
        failed = [r for r in day_results if not r.success]
        if failed:
            for r in failed:
                _quarantine(store, r, d, files[r.table][d], drops.get(r.table))
            raise GateFailed(failed, list(report.gate_results))  # with the warnings of the days before
        for spec, result in zip(DAILY_TABLES, day_results):
            manifest.publish(
                store,
                raw_prefix(spec.name, d),
                {PART: files[spec.name][d], VALIDATION: _validation(result)},
                _meta(source, spec.name, d),
                force=force,
            )
        report.landed_days.append(d)
        if on_progress:
            on_progress(i + 1, len(pending))
