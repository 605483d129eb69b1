"""Erasure of one household: ``couponflow forget --household H``.

DESIGN "Retention": erasure rewrites the partitions that hold the household under new manifests
and records the request; it is the one exception to immutable raw partitions. What it does:

* **rewrites** every published dataset with a ``household_id`` column that holds H, without H's
  rows: raw partitions of every table (transactions, coupon redemptions, campaign recipients,
  the demographics snapshot), decision logs and campaign sends (and their replays). A decision
  log names the household with its score, a send names it as contacted: the erasure duty covers
  our own outputs, not only what the retailer gave us. Each object is rewritten in place and then
  its manifest (same metadata, new sizes, sha256 and rows), so the dataset stays published and
  readable; ``campaigns/latest.json`` is re-pointed when its campaign was rewritten. A campaign's
  summary keeps the totals of the decision as it was made (the record says rows were erased).
* **withdraws** the partitions of H in a day that is not completely landed (a crash between its
  tables): the next run lands that day whole from the source, without H.
* **deletes** quarantined data that holds H (evidence of a moment: without H's rows it would no
  longer show what the gate rejected) and H's lines of ``config/do_not_contact.csv``.
* **records** the request, ``erasures/<timestamp>-<hash>.json``, naming H only by
  ``sha256(salt + H)`` (``couponflow.platform.erasures`` says why): landing filters the households
  of every record out of every later day, so H does not come back from the source. While the
  work is in progress the record lists the datasets still to rewrite (a re-run after a crash
  finishes them); once done it keeps only counts, not the days H shopped.
* **clears the home** of copies of H: the DuckDB warehouse (a working copy: the next build, which
  the CLI runs at once, rebuilds every model in full from the rewritten lake), the local copies
  of rewritten S3 objects in ``HOME/lake-cache/`` and the scratch folder ``HOME/work/``.

Not touched: reports and gate records hold aggregates only (counts, sums, rates; no household is
named), so they stay as published and age out with ``gc``; the registry's models are fitted
weights and summaries, not rows (the next training does not see H; a model is not un-trained).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from couponflow.app.publishing import advance_latest, latest_campaign
from couponflow.platform import erasures, manifest
from couponflow.platform.config import Settings
from couponflow.platform.contacts import DO_NOT_CONTACT_KEY
from couponflow.platform.lake import CAMPAIGNS, DECISION_LOGS, ERASURES, QUARANTINE, RAW, REPLAY, SEGMENTS, date_of
from couponflow.platform.landing import landed_days
from couponflow.platform.storage import ObjectStore
from couponflow.platform.version import code_version

HOUSEHOLD = erasures.HOUSEHOLD
# where published datasets can name a household (decision logs, sends, their replays, raw)
DATASET_AREAS = (f"{RAW}/", f"{DECISION_LOGS}/", f"{CAMPAIGNS}/", REPLAY, f"{SEGMENTS}/")


class UnknownHousehold(ValueError):
    """No object of the lake holds the household, and no erasure names it."""


@dataclass(frozen=True)
class Target:
    action: str  # rewrite | withdraw | delete | csv
    prefix: str  # a dataset prefix, a quarantine folder, or the do-not-contact key
    rows: int  # rows of the household found there


@dataclass
class Erasure:
    household_sha256: str
    record_key: str
    targets: list[Target] = field(default_factory=list)
    already_forgotten: bool = False  # a record names it and nothing of it is left
    home_deleted: list[str] = field(default_factory=list)

    @property
    def rows_removed(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.targets:
            area = _area(t.prefix)
            out[area] = out.get(area, 0) + t.rows
        return out


def _area(prefix: str) -> str:
    """``raw/transactions``, ``campaigns``, ``replay/decisions``, ``quarantine``, ``config``."""
    parts = prefix.split("/")
    if parts[0] == RAW:
        return "/".join(parts[:2])
    if parts[0] + "/" == REPLAY:
        return "/".join(parts[:2])
    return parts[0]


def _rows_of(data: bytes, household_id: int) -> int:
    ids = pq.read_table(io.BytesIO(data), columns=[HOUSEHOLD])[HOUSEHOLD]
    return int(pc.sum(pc.equal(ids, household_id)).as_py() or 0)


def _without(data: bytes, household_id: int) -> tuple[bytes, int]:
    table = pq.read_table(io.BytesIO(data))
    keep = pc.invert(pc.fill_null(pc.equal(table[HOUSEHOLD], household_id), False))
    kept = table.filter(keep)
    removed = table.num_rows - kept.num_rows
    return (manifest.parquet_bytes(kept) if removed else data), removed


def _names_household(entry: dict[str, Any]) -> bool:
    return entry["name"].endswith(".parquet") and any(col == HOUSEHOLD for col, _ in entry.get("schema", []))


def _datasets(store: ObjectStore) -> list[str]:
    prefixes = []
    for area in DATASET_AREAS:
        prefixes += [k[: -len(manifest.MANIFEST) - 1] for k in store.list(area) if k.endswith("/" + manifest.MANIFEST)]
    return sorted(prefixes)


def _scan(store: ObjectStore, household_id: int, also: set[str]) -> list[Target]:
    """Every place the household is (read-only), plus the ``also`` datasets of an unfinished run."""
    complete = set(landed_days(store))
    targets: list[Target] = []
    for prefix in _datasets(store):
        ds = manifest.read(store, prefix)
        if ds is None:
            continue
        rows = 0
        for entry in ds.objects:
            if _names_household(entry):
                try:
                    rows += _rows_of(store.get(ds.key(entry["name"])), household_id)
                except KeyError:
                    continue
        if rows or prefix in also:
            pending_day = prefix.startswith(f"{RAW}/") and "date=" in prefix and date_of(prefix) not in complete
            targets.append(Target("withdraw" if pending_day else "rewrite", prefix, rows))
    quarantined: dict[str, int] = {}
    for key in store.list(f"{QUARANTINE}/"):
        if key.endswith(".parquet"):
            try:
                rows = _rows_of(store.get(key), household_id)
            except (KeyError, pa.ArrowInvalid):  # no household column, or not readable: not H's
                continue
            if rows:
                folder = key.rsplit("/", 1)[0]
                quarantined[folder] = quarantined.get(folder, 0) + rows
    targets += [Target("delete", folder, rows) for folder, rows in sorted(quarantined.items())]
    lines = _do_not_contact_lines(store, household_id)
    if lines:
        targets.append(Target("csv", DO_NOT_CONTACT_KEY, lines))
    return targets


def _do_not_contact_lines(store: ObjectStore, household_id: int, *, rewrite: bool = False) -> int:
    try:
        text = store.get(DO_NOT_CONTACT_KEY).decode()
    except KeyError:
        return 0
    lines = text.splitlines(keepends=True)
    if not lines:
        return 0
    header = next(csv.reader([lines[0]]))
    if HOUSEHOLD not in header:
        return 0
    col = header.index(HOUSEHOLD)
    kept = [lines[0]]
    for line in lines[1:]:
        row = next(csv.reader([line]), [])
        if len(row) > col and row[col].strip() == str(household_id):
            continue
        kept.append(line)
    gone = len(lines) - len(kept)
    if rewrite and gone:
        store.put(DO_NOT_CONTACT_KEY, "".join(kept).encode())
    return gone


def _rewrite(store: ObjectStore, prefix: str, household_id: int) -> None:
    """The dataset without the household: changed objects first, then its manifest (same
    metadata, the objects described anew). Idempotent: a re-run after a crash between the two
    writes describes the objects as they are now."""
    ds = manifest.read(store, prefix)
    if ds is None:
        return
    objects: dict[str, bytes] = {}
    for entry in ds.objects:
        data = store.get(ds.key(entry["name"]))
        if _names_household(entry):
            new, removed = _without(data, household_id)
            if removed:
                store.put(ds.key(entry["name"]), new)
            data = new
        objects[entry["name"]] = data
    body = manifest.to_json_bytes(
        {**ds.manifest, "objects": [manifest.describe_object(n, d) for n, d in sorted(objects.items())]}
    )
    if store.get(ds.key(manifest.MANIFEST)) != body:
        store.put(ds.key(manifest.MANIFEST), body)


def _delete_tree(store: ObjectStore, prefix: str) -> None:
    keys = store.list(prefix.rstrip("/") + "/")
    for key in sorted(keys, key=lambda k: not k.endswith("/" + manifest.MANIFEST)):  # unpublish first
        store.delete(key)


def _records(store: ObjectStore, digest: str) -> list[tuple[str, dict[str, Any]]]:
    found = [(k, json.loads(store.get(k))) for k in erasures.record_keys(store)]
    return [(k, r) for k, r in found if r.get("household_sha256") == digest]


def _clear_home(settings: Settings, prefixes: list[str]) -> list[str]:
    deleted = []
    for path in (settings.warehouse_path, settings.warehouse_path.with_name(settings.warehouse_path.name + ".wal")):
        if path.exists():
            path.unlink()
            deleted.append(str(path))
    for prefix in prefixes:
        cached = settings.lake_cache_dir / prefix
        if cached.is_dir():
            shutil.rmtree(cached)
            deleted.append(str(cached))
    if settings.work_dir.is_dir():
        shutil.rmtree(settings.work_dir)
        deleted.append(str(settings.work_dir))
    return deleted


def parse_household(value: str) -> int:
    """A household id as the command line gives it: an integer, else ValueError with the fix."""
    try:
        return int(value.strip())
    except ValueError:
        raise ValueError(
            f"--household {value!r} is not a household id: give the integer household_id, e.g. --household 1923"
        ) from None


def forget(store: ObjectStore, settings: Settings, household_id: int, now: datetime | None = None) -> Erasure:
    """Erase ``household_id`` from the lake and the home. Raises UnknownHousehold (nothing
    written) when the lake holds no row of it and no erasure names it."""
    salt = erasures.load_salt(store)
    fresh_salt = salt is None
    salt = salt or erasures.new_salt()
    digest = erasures.household_hash(salt, household_id)
    records = [] if fresh_salt else _records(store, digest)
    unfinished = [(k, r) for k, r in records if r.get("status") != "done"]
    also = {p for _, r in unfinished for p in r.get("pending", [])}
    targets = _scan(store, household_id, also)
    if not targets and not records:
        raise UnknownHousehold(
            f"household {household_id} is not in the lake at {store.description} (no row of any table names it): "
            "check the id (couponflow read lists the sends of a day), nothing was changed"
        )
    stamp = (now or datetime.now(UTC)).astimezone(UTC)
    if not targets and not unfinished:  # done before: the home was cleared then, and rebuilt since
        return Erasure(digest, sorted(k for k, _ in records)[-1], already_forgotten=True)
    if fresh_salt:
        store.put(erasures.SALT_KEY, manifest.to_json_bytes({"salt": salt}))
    key = unfinished[0][0] if unfinished else f"{ERASURES}/{stamp.strftime('%Y%m%dT%H%M%S%fZ')}-{digest[:12]}.json"
    # the rows of H each dataset held when the request was first recorded: a run killed part-way
    # has rewritten some already, and the re-run, which finds none of H there, must still count them
    # (and a folder it deleted is no longer found at all: deleting it again is a no-op)
    planned = {p: Target(v["action"], p, v["rows"]) for _, r in unfinished for p, v in (r.get("targets") or {}).items()}
    found = {t.prefix for t in targets}
    targets = [planned.get(t.prefix, t) for t in targets] + [t for p, t in sorted(planned.items()) if p not in found]
    record: dict[str, Any] = {
        "schema_version": manifest.SCHEMA_VERSION,
        "household_sha256": digest,
        "requested_at": unfinished[0][1]["requested_at"] if unfinished else stamp.isoformat(timespec="seconds"),
        "code_version": code_version(),
        "status": "in progress",
        "pending": sorted(t.prefix for t in targets),
        "targets": {t.prefix: {"action": t.action, "rows": t.rows} for t in targets},
    }
    store.put(key, manifest.to_json_bytes(record))  # first: landing filters H from now on
    latest = latest_campaign(store)
    for t in targets:
        if t.action == "rewrite":
            _rewrite(store, t.prefix, household_id)
        elif t.action in ("withdraw", "delete"):
            _delete_tree(store, t.prefix)
        else:
            _do_not_contact_lines(store, household_id, rewrite=True)
    if latest is not None and any(t.prefix == latest["campaign"] for t in targets):
        advance_latest(store, date.fromisoformat(latest["run_date"]))
    out = Erasure(digest, key, targets)
    out.home_deleted = _clear_home(settings, [t.prefix for t in targets])
    del record["pending"], record["targets"]
    record.update(
        status="done",
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
        rows_removed=out.rows_removed,
        datasets={a: sum(1 for t in targets if t.action == a) for a in ("rewrite", "withdraw", "delete", "csv")},
        home_cleared=bool(out.home_deleted),
    )
    store.put(key, manifest.to_json_bytes(record))
    return out


def describe(erasure: Erasure, household_id: int) -> list[str]:
    if erasure.already_forgotten:
        return [
            f"household {household_id} was already forgotten ({erasure.record_key}): no row of it is left in the lake"
        ]
    verbs = {"rewrite": "rewrote", "withdraw": "withdrew (re-landed whole by the next run)", "delete": "deleted"}
    lines = [f"household {household_id} forgotten; request recorded in {erasure.record_key} (hashed id only)"]
    for t in erasure.targets:
        lines.append(f"  {verbs.get(t.action, 'rewrote')} {t.prefix}: {t.rows} rows of it")
    lines.append("rows removed: " + ", ".join(f"{a} {n}" for a, n in sorted(erasure.rows_removed.items())))
    for path in erasure.home_deleted:
        lines.append(f"deleted from the home: {path}")
    return lines
