"""Retention: what ``couponflow gc`` deletes, and what it never touches.

DESIGN "Retention": gc deletes only what can be rebuilt or is only evidence of a moment. The rule,
with N = ``keep_days`` (default 90):

* **reports** ``reports/date=D/`` (page, report.json, gates.json, Data Docs): deleted when D is
  more than N days before the lake's newest date (the newest published campaign or report),
  never the report of the date ``campaigns/latest.json`` points at. ``couponflow report --date D``
  rebuilds one from what gc keeps (its gate record, campaign and decision log).
* **data dictionaries** ``reports/data-dictionary/<digest>/``: deleted when no kept report links
  them (the next report of that project version publishes it again).
* **quarantine** ``quarantine/<gate>/date=D/``: deleted when D is more than N days before the
  lake's newest date; a rejected snapshot (``date=snapshot``) has no age and is kept.
* **run records** ``runs/<id>.json`` and ``HOME/failed-run-<id>.json``: deleted when started
  more than N days ago (wall clock: they are evidence of an execution, not of a data date), but
  the newest ``KEEP_RUNS`` are always kept, so that ``couponflow status`` still shows them.
* **scratch and caches in the home**: ``HOME/work/`` (Data Docs before upload), ``HOME/dbt/logs/``,
  copies in ``HOME/lake-cache/`` that no current manifest lists with the same sha256 (stale or
  half-written; valid copies stay, or the next build would download the whole lake again), and
  ``.tmp-*`` leftovers of a crashed write in a local lake.
* **the raw Data Docs page cache** ``HOME/work/raw-docs-cache/<sha>.html``: a cached page whose
  bytes no kept report publishes (by the sha256 its manifests list); the pages of kept reports
  stay, or ``couponflow report --date D`` would render them all again (minutes on a long lake).
* **the drop zone's fingerprints** ``HOME/dropzone-seen/<zone>/<table>/<day>.json`` (and
  ``snapshot.json``): those of a table and day (or snapshot) the lake holds no raw partition of
  (a day seen but quarantined or never landed). Raw partitions are never deleted and every run
  re-checks every landed day against the zone, so a landed day's fingerprints always stay:
  without them each run would hash that day's files again.

Never deleted, by construction (gc lists nothing else): raw partitions, decision logs, campaigns
(and ``latest.json``), gate records (``gates/``: what makes a report rebuildable), replays, the
registry, ``config/`` and ``erasures/``. Features use all history, contact caps read our past
sends, closed campaigns read their decision logs.

``plan`` lists what would go (with sizes) and deletes nothing; ``collect`` deletes exactly what a
plan lists, each dataset's manifest first, so a crash leaves no dataset whose manifest lists a
missing object, and a re-run deletes the rest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from couponflow.platform import manifest
from couponflow.platform.config import Settings
from couponflow.platform.lake import (
    CAMPAIGNS,
    DATA_DICTIONARY,
    QUARANTINE,
    REPORT_DATA,
    REPORTS,
    RUNS,
    dated_area,
)
from couponflow.platform.runs import KEPT_PREFIX
from couponflow.platform.storage import ObjectStore

DEFAULT_KEEP_DAYS = 90
KEEP_RUNS = 10  # couponflow status shows the last 10 runs by default
# areas gc never deletes from, whatever a plan says (a second line of defence)
RAW_DOCS_CACHE = "raw-docs-cache"  # = couponflow.app.report.writer.RAW_DOCS_CACHE (not imported: it pulls in GX)
DROPZONE_SEEN = "dropzone-seen"  # HOME/: the drop zone's listing fingerprints (couponflow.platform.sources)
PROTECTED = ("raw/", "decisions/", "campaigns/", "replay/", "gates/", "registry/", "config/", "erasures/", "segments/")


@dataclass(frozen=True)
class Item:
    """One object (a store key) or one home file (a path) that gc deletes."""

    area: str  # reports | data-dictionary | quarantine | runs | scratch | cache
    group: str  # what it belongs to, for the listing: a dataset prefix, a run record, a folder
    where: str  # the store key, or the absolute path in the home
    bytes: int
    in_home: bool = False


@dataclass
class Plan:
    keep_days: int
    newest: date | None  # the lake's newest date (reports and quarantine age against it)
    keep_from: date | None  # reports and quarantine of this date or later are kept
    protected_report: date | None  # the date campaigns/latest.json points at
    items: list[Item] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(i.bytes for i in self.items)

    def groups(self) -> list[tuple[str, str, int, int]]:
        """(area, group, objects, bytes) in listing order."""
        out: dict[tuple[str, str], list[int]] = {}
        for i in self.items:
            out.setdefault((i.area, i.group), []).append(i.bytes)
        return [(a, g, len(b), sum(b)) for (a, g), b in out.items()]

    def areas(self) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        for i in self.items:
            n, b = out.get(i.area, (0, 0))
            out[i.area] = (n + 1, b + i.bytes)
        return out


def _dated_keys(store: ObjectStore, area: str) -> dict[date, list[str]]:
    out: dict[date, list[str]] = {}
    for key in store.list(dated_area(area)):
        try:
            day = date.fromisoformat(key[len(dated_area(area)) :].split("/")[0])
        except ValueError:
            continue
        out.setdefault(day, []).append(key)
    return out


def _latest_date(store: ObjectStore) -> date | None:
    try:
        return date.fromisoformat(json.loads(store.get(f"{CAMPAIGNS}/latest.json"))["run_date"])
    except (KeyError, ValueError):
        return None


def _sized(store: ObjectStore, keys: list[str]) -> dict[str, int]:
    """Sizes of ``keys``: manifests are read (their size, and the sizes of what they list);
    objects no manifest lists are fetched."""
    sizes: dict[str, int] = {}
    for key in keys:
        if key.endswith("/" + manifest.MANIFEST):
            body = store.get(key)
            sizes[key] = len(body)
            prefix = key[: -len(manifest.MANIFEST)]
            for entry in json.loads(body).get("objects", []):
                sizes.setdefault(prefix + entry["name"], int(entry["bytes"]))
    return {key: sizes[key] if key in sizes else len(store.get(key)) for key in keys}


def _manifests_first(keys: Iterable[str]) -> list[str]:
    """Delete order: the shallowest manifest first (it unpublishes the dataset), then the rest."""
    return sorted(keys, key=lambda k: (not k.endswith("/" + manifest.MANIFEST), k.count("/"), k))


def _report_links(store: ObjectStore, keys: list[str]) -> set[str]:
    """Digests of the data dictionaries that these report keys link."""
    digests = set()
    for key in keys:
        if key.endswith("/" + REPORT_DATA) and key.count("/") == 2:
            link = json.loads(store.get(key)).get("data_dictionary") or ""
            found = re.search(rf"{DATA_DICTIONARY}/([^/]+)/", link)
            if found:
                digests.add(found.group(1))
    return digests


def _store_items(area: str, store: ObjectStore, groups: dict[str, list[str]]) -> list[Item]:
    items = []
    for group, keys in groups.items():
        sizes = _sized(store, keys)
        items += [Item(area, group, key, sizes[key]) for key in _manifests_first(keys)]
    return items


def _reports(store: ObjectStore, plan: Plan, kept_bytes: set[str]) -> list[Item]:
    """Old reports and unlinked dictionaries; ``kept_bytes`` gets the sha256 of every object a
    kept report's manifests list (the page cache keeps those)."""
    by_date = _dated_keys(store, REPORTS)
    kept: list[str] = []
    gone: dict[str, list[str]] = {}
    for day, keys in sorted(by_date.items()):
        if plan.keep_from is not None and day < plan.keep_from and day != plan.protected_report:
            gone[f"{REPORTS}/date={day.isoformat()}/"] = keys
        else:
            kept += keys
    for key in kept:
        if key.endswith("/" + manifest.MANIFEST):
            kept_bytes.update(o["sha256"] for o in json.loads(store.get(key)).get("objects", []))
    linked = _report_links(store, kept)
    dictionaries: dict[str, list[str]] = {}
    for key in store.list(f"{REPORTS}/{DATA_DICTIONARY}/"):
        digest = key.split("/")[2]
        if digest not in linked:
            dictionaries.setdefault(f"{REPORTS}/{DATA_DICTIONARY}/{digest}/", []).append(key)
    return _store_items("reports", store, gone) + _store_items("data-dictionary", store, dictionaries)


def _quarantine(store: ObjectStore, plan: Plan) -> list[Item]:
    gone: dict[str, list[str]] = {}
    if plan.keep_from is None:
        return []
    for key in store.list(f"{QUARANTINE}/"):
        parts = key.split("/")  # quarantine/<gate>/date=D/<table>/<name>
        if len(parts) < 4 or not parts[2].startswith("date="):
            continue
        try:
            day = date.fromisoformat(parts[2][len("date=") :])
        except ValueError:  # date=snapshot: a rejected snapshot has no age
            continue
        if day < plan.keep_from:
            gone.setdefault("/".join(parts[:3]) + "/", []).append(key)
    return _store_items("quarantine", store, gone)


def _started(record: dict) -> datetime | None:
    try:
        started = datetime.fromisoformat(record["started_at"])
    except (KeyError, TypeError, ValueError):
        return None
    return started if started.tzinfo else started.replace(tzinfo=UTC)


def _runs(store: ObjectStore, settings: Settings, keep_days: int, now: datetime) -> list[Item]:
    found: list[tuple[datetime, Item]] = []
    for key in store.list(f"{RUNS}/"):
        if key.endswith(".json"):
            body = store.get(key)
            started = _started(json.loads(body))
            if started is not None:
                found.append((started, Item("runs", key, key, len(body))))
    home = settings.home_dir
    for path in sorted(home.glob(f"{KEPT_PREFIX}*.json")) if home.is_dir() else []:
        started = _started(json.loads(path.read_bytes()))
        if started is not None:
            found.append((started, Item("runs", str(path), str(path), path.stat().st_size, in_home=True)))
    found.sort(key=lambda pair: pair[0], reverse=True)
    cut = now - timedelta(days=keep_days)
    return [item for started, item in found[KEEP_RUNS:] if started < cut]


def _files(area: str, folder: Path, group: str) -> list[Item]:
    if not folder.is_dir():
        return []
    return [Item(area, group, str(p), p.stat().st_size, in_home=True) for p in sorted(folder.rglob("*")) if p.is_file()]


def _stale_cache(store: ObjectStore, settings: Settings) -> list[Item]:
    """Copies of S3 objects in the home that no current manifest lists with the same bytes."""
    root = settings.lake_cache_dir
    if not root.is_dir():
        return []
    manifests: dict[str, manifest.Dataset | None] = {}
    items = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        key = path.relative_to(root).as_posix()
        prefix, _, name = key.rpartition("/")
        if prefix not in manifests:
            manifests[prefix] = manifest.read(store, prefix) if prefix else None
        ds = manifests[prefix]
        entry = next((o for o in ds.objects if o["name"] == name), None) if ds else None
        if entry is None or manifest.sha256(path.read_bytes()) != entry["sha256"]:
            items.append(Item("cache", str(root) + "/", str(path), path.stat().st_size, in_home=True))
    return items


def _page_cache(settings: Settings, kept_bytes: set[str]) -> list[Item]:
    """Cached raw Data Docs pages that no kept report publishes."""
    root = settings.work_dir / RAW_DOCS_CACHE
    if not root.is_dir():
        return []
    return [
        Item("cache", str(root) + "/", str(p), p.stat().st_size, in_home=True)
        for p in sorted(root.rglob("*"))
        if p.is_file() and manifest.sha256(p.read_bytes()) not in kept_bytes
    ]


def _landed(store: ObjectStore) -> set[tuple[str, str]]:
    """(table, day or "snapshot") of every published raw partition."""
    out = set()
    for key in store.list("raw/"):
        parts = key.split("/")  # raw/<table>/date=D/manifest.json | raw/<table>/snapshot/version=N/manifest.json
        if parts[-1] != manifest.MANIFEST or len(parts) < 4:
            continue
        if parts[2].startswith("date="):
            out.add((parts[1], parts[2][len("date=") :]))
        elif parts[2] == "snapshot":
            out.add((parts[1], "snapshot"))
    return out


def _fingerprints(store: ObjectStore, settings: Settings) -> list[Item]:
    """The drop zone's fingerprints of tables and days the lake holds no raw partition of."""
    root = settings.home_dir / DROPZONE_SEEN
    if not root.is_dir():
        return []
    landed = _landed(store)
    items = []
    for path in sorted(root.glob("*/*/*.json")):  # <zone>/<table>/<day|snapshot>.json
        if (path.parent.name, path.stem) not in landed:
            items.append(Item("cache", str(root) + "/", str(path), path.stat().st_size, in_home=True))
    return items


def _local_leftovers(store: ObjectStore) -> list[Item]:
    """``.tmp-*`` files a crashed write left in a local lake (a store's listing never shows them)."""
    root = getattr(store, "root", None)
    if not isinstance(root, Path) or not root.is_dir():
        return []
    return [
        Item("scratch", str(root) + "/.tmp-*", str(p), p.stat().st_size, in_home=True)
        for p in sorted(root.rglob(".tmp-*"))
        if p.is_file()
    ]


def plan(
    store: ObjectStore, settings: Settings, keep_days: int = DEFAULT_KEEP_DAYS, now: datetime | None = None
) -> Plan:
    """What gc would delete now (nothing is deleted)."""
    if keep_days < 0:
        raise ValueError(f"keep_days must be 0 or more, got {keep_days}")
    dates = [*_dated_keys(store, REPORTS), *_dated_keys(store, CAMPAIGNS)]
    newest = max(dates) if dates else None
    out = Plan(
        keep_days,
        newest,
        newest - timedelta(days=keep_days) if newest else None,
        _latest_date(store),
    )
    kept_bytes: set[str] = set()
    out.items += _reports(store, out, kept_bytes)
    out.items += _quarantine(store, out)
    out.items += _runs(store, settings, keep_days, now or datetime.now(UTC))
    out.items += [  # the page cache under work/ has its own rule
        i
        for i in _files("scratch", settings.work_dir, str(settings.work_dir) + "/")
        if (settings.work_dir / RAW_DOCS_CACHE) not in Path(i.where).parents
    ]
    out.items += _page_cache(settings, kept_bytes)
    out.items += _fingerprints(store, settings)
    out.items += _files("scratch", settings.dbt_log_dir, str(settings.dbt_log_dir) + "/")
    out.items += _stale_cache(store, settings)
    out.items += _local_leftovers(store)
    return out


def collect(store: ObjectStore, settings: Settings, plan: Plan) -> list[Item]:
    """Delete exactly what ``plan`` lists (manifests first); returns what was deleted."""
    for item in plan.items:
        if not item.in_home and item.where.startswith(PROTECTED):
            raise RuntimeError(f"gc refuses to delete {item.where}: {item.where.split('/')[0]}/ is never collected")
    deleted = []
    for item in plan.items:
        if item.in_home:
            Path(item.where).unlink(missing_ok=True)
        else:
            store.delete(item.where)
        deleted.append(item)
    for folder in sorted({Path(i.where).parent for i in deleted if i.in_home}, reverse=True):
        _prune_empty(folder, settings.home_dir)
    return deleted


def _prune_empty(folder: Path, home: Path) -> None:
    """Remove the folders under the home that gc emptied (never the home itself)."""
    while folder.is_dir() and folder != home and home in folder.parents and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # pragma: no cover


def describe(plan: Plan, *, done: bool) -> list[str]:
    """The listing gc prints: one line per dataset or folder, then the totals per area."""
    verb = "deleted" if done else "would delete"
    head = (
        f"retention: reports and quarantine from {plan.keep_from} on are kept (newest date {plan.newest}, "
        f"--keep-days {plan.keep_days}), run records of the last {plan.keep_days} days and the newest {KEEP_RUNS}"
        if plan.newest
        else f"retention: nothing is published yet; run records of the last {plan.keep_days} days are kept"
    )
    lines = [head]
    if plan.protected_report:
        lines.append(f"kept always: the report of {plan.protected_report} (campaigns/latest.json)")
    for area, group, n, size in plan.groups():
        lines.append(f"  {verb} {area:<15} {human(size):>9}  {n:>5} objects  {group}")
    for area, (n, size) in plan.areas().items():
        lines.append(f"{area}: {n} objects, {human(size)}")
    lines.append(f"total: {verb} {len(plan.items)} objects, {human(plan.total_bytes)}")
    return lines
