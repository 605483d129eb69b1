"""A drop zone: files an upstream system drops under a directory or an S3 prefix.

Layout (``COUPONFLOW_DROPZONE_URL`` = a local directory or ``s3://bucket/prefix``)::

    <table>/date=YYYY-MM-DD/*.parquet | *.csv     the daily tables (transactions, coupon_redemptions,
                                                 campaigns), any number of files per day
    <table>/date=YYYY-MM-DD/_SUCCESS              written by the upstream when that table's day is complete
    <table>/snapshot/*.parquet | *.csv, _SUCCESS  the static tables (products, coupons,
                                                 campaign_descriptions with planned_size, demographics)

Files follow the landing contract (``couponflow.platform.contract``) exactly: the same column
set (``campaign_descriptions`` carries ``planned_size``, the campaign's planned number of
recipients), parquet cast to the contract's types, CSV typed by the contract column by column
(``pyarrow.csv`` with explicit types, UTF-8, comma-separated, a header line, an empty field a
missing value and a quoted ``""`` an empty text; never a guess). The
rows of a day are sorted by the table's key, so the bytes landed do not depend on how the
upstream split them into files. Other names (``_SUCCESS``, ``_``/``.``-prefixed files such as
``_committed`` or ``.crc``) are not data; any other extension is refused.

**Which days exist.** ``first_day`` is the earliest and ``last_day`` the latest day that any daily
table has a folder for (complete or not): the calendar is the days present. A day is *complete*
when every daily table has its folder with ``_SUCCESS`` for it (an empty day is a folder with only
the marker). ``waiting_for`` names the tables a day still waits for; landing lands complete days
only and stops at the first incomplete one with ``UpstreamNotReady`` (exit 3: retry later).
Recipients of campaigns that started before ``first_day`` go in the first day's ``campaigns``
folder (as the bundled source lands its 2016 campaigns on its first day).

**What was landed.** ``drop_files`` gives the sha256 of every data file of a day or snapshot.
Landing records them in the partition's manifest and refuses, with a line naming the file, a
drop file that changed after its day was landed (``DropFileChanged``); ``--reland D`` re-lands
the day instead.

**Checking cheaply.** Every run compares every landed day's files with the drop zone, so the
hash of a file is not recomputed from its bytes when its *listing fingerprint* is one seen
before: on S3 ``etag:<size>:<ETag>`` from the LIST (the ETag is derived from the content: a
PUT of other bytes gives another ETag; an unchanged ETag with other bytes would need an MD5
collision), on a directory ``stat:<size>:<mtime_ns>:<ctime_ns>:<inode>`` from ``stat`` (any
write, truncation, replacement by rename, or ``touch -d`` resetting mtime moves ctime, which no
user can set). A fingerprint is remembered with the sha256 of the bytes read under it (S3: the
ETag that GET returned with them; a directory: ``fstat`` before and after the read, unequal =
not remembered), in ``HOME/dropzone-seen/<zone>/<table>/<day>.json`` (a cache: losing it only
costs a re-hash; never in the lake, whose manifests stay content-derived). A directory's
fingerprint is trusted only when its ctime is at least ``RACY_S`` older than the read (git's
"racy clean" rule): a write in the same timestamp tick as the read would leave the stat
unchanged, so such a file is hashed again by the next run. What this cannot see: a file system
whose clock or timestamps lie (ctime from a server clock behind ours by more than ``RACY_S``),
and an S3 endpoint whose ETag is not derived from the content; there, delete the cache to force
full hashing. A run over N landed days then reads no drop-file bytes, only the listing.

``answers_our_sends`` is ``COUPONFLOW_DROPZONE_ANSWERS_OUR_SENDS`` (default false, DESIGN's
honest lift): true only when the retailer delivered our published sends and its redemptions
answer them. S3 credentials and endpoint come from ``COUPONFLOW_DROPZONE_*`` (never printed).
"""

from __future__ import annotations

import io
import json
import os
import posixpath
import time
from datetime import date
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from couponflow.platform.config import Settings
from couponflow.platform.contract import DAILY_TABLES, RAW_TABLES, SNAPSHOT_TABLES, RawTable
from couponflow.platform.manifest import sha256
from couponflow.platform.sources.base import BadDropFile, UpstreamNotReady, calendar
from couponflow.platform.storage import LocalStore, ObjectStore, S3Store, StoreMisconfigured

MARKER = "_SUCCESS"
RACY_S = 2.0  # a directory's fingerprint is trusted once its ctime is this much older than the read
SNAPSHOT = "snapshot"
DATA_SUFFIXES = (".parquet", ".csv")


class _DropZoneS3(S3Store):
    """The lake's S3 backend, read-only here, whose messages name the drop zone's variables."""

    def _refused(self, what: str, code: str) -> StoreMisconfigured:
        return StoreMisconfigured(
            f"{what} on the drop zone {self.description} was refused ({code}): check "
            "COUPONFLOW_DROPZONE_ACCESS_KEY_ID / COUPONFLOW_DROPZONE_SECRET_ACCESS_KEY"
        )

    def _no_bucket(self) -> StoreMisconfigured:
        return StoreMisconfigured(
            f"the drop zone's bucket {self.bucket!r} does not exist at {self._endpoint}: fix COUPONFLOW_DROPZONE_URL "
            "or COUPONFLOW_DROPZONE_ENDPOINT_URL"
        )

    def fingerprints(self, prefix: str) -> dict[str, str]:
        """key -> ``etag:<size>:<ETag>`` of every object under ``prefix``, from one listing."""
        return {k: f"etag:{size}:{etag}" for k, (size, etag) in self.list_objects(prefix).items()}

    def get_fingerprinted(self, key: str) -> tuple[bytes, str | None]:
        """An object's bytes and the fingerprint of exactly those bytes (the ETag GET returned)."""
        resp = self._call("GET", self._client.get_object, Key=self._key(key))
        data = resp["Body"].read()
        return data, f"etag:{len(data)}:{str(resp.get('ETag', '')).strip(chr(34))}"

    def verify(self, quick: bool = True) -> None:
        try:
            super().verify(quick)
        except StoreMisconfigured as exc:  # the lake's wording names COUPONFLOW_S3_*
            line = str(exc).replace("COUPONFLOW_S3_BUCKET", "COUPONFLOW_DROPZONE_URL")
            raise StoreMisconfigured(line.replace("COUPONFLOW_S3_", "COUPONFLOW_DROPZONE_")) from None


class _DropZoneDir(LocalStore):
    """A local drop directory, read-only; unlike the lake it must exist."""

    def fingerprints(self, prefix: str) -> dict[str, str]:
        """key -> ``stat:<size>:<mtime_ns>:<ctime_ns>:<inode>`` of every file under ``prefix``."""
        out = {}
        for key in self.list(prefix):
            try:
                out[key] = _stat_print(os.stat(self._path(key)))
            except FileNotFoundError:  # removed since the listing: not there
                continue
        return out

    def get_fingerprinted(self, key: str) -> tuple[bytes, str | None]:
        """A file's bytes and its fingerprint, None when it changed while being read."""
        try:
            with open(self._path(key), "rb") as fh:
                before = _stat_print(os.fstat(fh.fileno()))
                data = fh.read()
                after = _stat_print(os.fstat(fh.fileno()))
        except FileNotFoundError:
            raise KeyError(key) from None
        return data, before if before == after else None

    def verify(self) -> None:
        if not self.root.is_dir():
            raise StoreMisconfigured(
                f"the drop zone {self.root} is not a directory: fix COUPONFLOW_DROPZONE_URL (or create the folder "
                "the upstream drops into)"
            )


def _stat_print(st: os.stat_result) -> str:
    return f"stat:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"


def _trusted(fingerprint: str, read_at_ns: int) -> bool:
    """Whether a fingerprint taken at a read at ``read_at_ns`` may stand for the bytes read then."""
    if fingerprint.startswith("stat:"):
        ctime_ns = int(fingerprint.split(":")[3])
        return ctime_ns <= read_at_ns - int(RACY_S * 1e9)
    return fingerprint.startswith("etag:")


def open_zone(settings: Settings) -> ObjectStore:
    """The drop zone the settings name, as a store (only listed and read)."""
    url = settings.dropzone_url
    assert url, "checked by Settings"
    parts = urlsplit(url)
    if parts.scheme == "s3":
        return _DropZoneS3(
            bucket=parts.netloc,
            prefix=parts.path.strip("/"),
            endpoint_url=settings.dropzone_endpoint_url,
            region=settings.dropzone_region,
            access_key_id=settings.dropzone_access_key_id.get_secret_value()
            if settings.dropzone_access_key_id
            else None,
            secret_access_key=settings.dropzone_secret_access_key.get_secret_value()
            if settings.dropzone_secret_access_key
            else None,
        )
    return _DropZoneDir(Path(parts.path if parts.scheme == "file" else url).expanduser())


def folder(table: str, d: date | None) -> str:
    """A table's day folder (or its snapshot folder) inside the drop zone."""
    return f"{table}/{SNAPSHOT}" if d is None else f"{table}/date={d.isoformat()}"


def _is_data(name: str) -> bool:
    return not name.startswith(("_", "."))


class DropZoneSource:
    """The drop zone as a ``Source`` (see the module's docstring)."""

    name = "dropzone"

    def __init__(self, zone: ObjectStore, answers_our_sends: bool = False, seen_dir: Path | None = None) -> None:
        self.zone = zone
        self.answers_our_sends = answers_our_sends
        self.description = getattr(zone, "description", "drop zone")
        self._hashes: dict[tuple[str, date | None], dict[str, str]] = {}
        self._prints: dict[str, str] = {}  # zone key -> listing fingerprint (see "Checking cheaply")
        # HOME/dropzone-seen/<zone>/: fingerprints seen with the sha256 of their bytes (None: not kept)
        self._seen_dir = seen_dir / sha256(self.description.encode())[:16] if seen_dir else None
        self._seen: dict[tuple[str, date | None], dict[str, dict[str, str]]] = {}

    # -- what the zone holds (one listing per source object, i.e. per run) ---------------------
    @cached_property
    def _listing(self) -> dict[tuple[str, date | None], list[str]]:
        """(table, day or None) -> the file names in its folder, markers included."""
        out: dict[tuple[str, date | None], list[str]] = {}
        prints = getattr(self.zone, "fingerprints", None)
        for spec in DAILY_TABLES + SNAPSHOT_TABLES:
            if prints is not None:
                self._prints.update(prints(f"{spec.name}/"))
                keys = sorted(k for k in self._prints if k.startswith(f"{spec.name}/"))
            else:
                keys = self.zone.list(f"{spec.name}/")
            for key in keys:
                parts = key.split("/")
                if len(parts) != 3:
                    continue  # a file at the table's top or nested deeper is not part of the layout
                where, name = parts[1], parts[2]
                if spec.daily and where.startswith("date="):
                    try:
                        d: date | None = date.fromisoformat(where.removeprefix("date="))
                    except ValueError:
                        raise BadDropFile(
                            f"drop zone folder {spec.name}/{where} is not a day: name day folders date=YYYY-MM-DD"
                        ) from None
                elif not spec.daily and where == SNAPSHOT:
                    d = None
                else:
                    continue
                out.setdefault((spec.name, d), []).append(name)
        return out

    @cached_property
    def _days_present(self) -> list[date]:
        return sorted({d for (_, d) in self._listing if d is not None})

    @property
    def first_day(self) -> date:
        if not self._days_present:
            raise UpstreamNotReady(
                f"the drop zone {self.description} holds no day yet: waiting for the upstream to drop "
                "<table>/date=YYYY-MM-DD/ folders with their _SUCCESS marker"
            )
        return self._days_present[0]

    @property
    def last_day(self) -> date:
        self.first_day  # noqa: B018 - the same refusal for an empty zone
        return self._days_present[-1]

    def days(self) -> list[date]:
        return calendar(self.first_day, self.last_day)

    def complete(self, table: str, d: date | None) -> bool:
        return MARKER in self._listing.get((table, d), [])

    def waiting_for(self, days: list[date]) -> dict[date, list[str]]:
        """The daily tables each of ``days`` still waits for (no folder or no marker); complete days left out."""
        out = {}
        for d in days:
            missing = [spec.name for spec in DAILY_TABLES if not self.complete(spec.name, d)]
            if missing:
                out[d] = missing
        return out

    def data_files(self, table: str, d: date | None) -> list[str]:
        names = sorted(n for n in self._listing.get((table, d), []) if _is_data(n))
        for n in names:
            if not n.endswith(DATA_SUFFIXES):
                raise BadDropFile(
                    f"drop zone file {folder(table, d)}/{n} is neither .parquet nor .csv: drop the table's rows as "
                    "parquet or CSV, and other files under names starting with '_' or '.'"
                )
        return names

    # -- reading --------------------------------------------------------------------------------
    def _read(self, table: str, d: date | None) -> pa.Table:
        spec = RAW_TABLES[table]
        where = folder(table, d)
        if not self.complete(table, d):
            what = "its snapshot" if d is None else d.isoformat()
            raise UpstreamNotReady(
                f"the drop zone has no complete {table} for {what}: waiting for {where}/{MARKER} (the upstream writes "
                "it when the files are complete); retry later"
            )
        parts, hashes = [], {}
        for name in self.data_files(table, d):
            data = self._get(table, d, name)
            hashes[name] = sha256(data)
            try:
                parts.append((name, read_file(spec, f"{where}/{name}", data)))
            except BadDropFile as exc:
                raise BadDropFile(str(exc), f"{where}/{name}", data) from None
        self._hashes[(table, d)] = hashes
        if not parts:
            return spec.schema.empty_table()
        schemas = {t.schema for _, t in parts}
        if len(schemas) > 1:  # read_file conforms, so only an unconformable file gets here
            raise BadDropFile(f"drop zone folder {where} holds files of different schemas: re-export them alike")
        table_ = pa.concat_tables([t for _, t in parts])
        return table_.sort_by([(k, "ascending") for k in spec.key])

    def day(self, table: str, d: date) -> pa.Table:
        return self._read(table, d)

    def snapshot(self, table: str) -> pa.Table:
        return self._read(table, None)

    def drop_files(self, table: str, d: date | None) -> dict[str, str]:
        """name -> sha256 of every data file of a day (or snapshot) folder, as the zone holds it now:
        read from the bytes, or from a trusted fingerprint seen before (see "Checking cheaply")."""
        if (table, d) not in self._hashes:
            where = folder(table, d)
            seen = self._seen_of(table, d)
            out = {}
            for n in self.data_files(table, d):
                now = self._prints.get(f"{where}/{n}")
                entry = seen.get(n)
                if now is not None and entry is not None and entry["fingerprint"] == now:
                    out[n] = entry["sha256"]
                else:
                    out[n] = sha256(self._get(table, d, n))
            self._hashes[(table, d)] = out
        return dict(self._hashes[(table, d)])

    def file_tables(self, table: str, d: date | None) -> dict[str, tuple[bytes, pa.Table]]:
        """Each data file of a folder (by its key in the zone): its bytes and its rows under the
        contract, for naming the file(s) whose rows a gate refused. Read again: only on a failure."""
        spec, where = RAW_TABLES[table], folder(table, d)
        out = {}
        for name in self.data_files(table, d):
            data = self._get(table, d, name)
            out[f"{where}/{name}"] = (data, read_file(spec, f"{where}/{name}", data))
        return out

    # -- the bytes, and the fingerprints seen with them -------------------------------------------
    def _get(self, table: str, d: date | None, name: str) -> bytes:
        key = f"{folder(table, d)}/{name}"
        read = getattr(self.zone, "get_fingerprinted", None)
        if read is None:
            return self.zone.get(key)
        data, fingerprint = read(key)
        if fingerprint is not None and _trusted(fingerprint, time.time_ns()):
            self._remember(table, d, name, fingerprint, sha256(data))
        return data

    def _seen_path(self, table: str, d: date | None) -> Path | None:
        return self._seen_dir / table / f"{d.isoformat() if d else SNAPSHOT}.json" if self._seen_dir else None

    def _seen_of(self, table: str, d: date | None) -> dict[str, dict[str, str]]:
        if (table, d) not in self._seen:
            path = self._seen_path(table, d)
            try:
                self._seen[(table, d)] = json.loads(path.read_text()) if path else {}
            except (FileNotFoundError, ValueError):  # none yet, or unreadable: hash from the bytes
                self._seen[(table, d)] = {}
        return self._seen[(table, d)]

    def _remember(self, table: str, d: date | None, name: str, fingerprint: str, digest: str) -> None:
        seen = self._seen_of(table, d)
        entry = {"fingerprint": fingerprint, "sha256": digest}
        path = self._seen_path(table, d)
        if seen.get(name) == entry or path is None:
            return
        seen[name] = entry
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
        tmp.write_text(json.dumps(seen, sort_keys=True))
        os.replace(tmp, path)

    def forget_reads(self) -> None:
        """Forget the listing and hashes (the next call sees the zone as it is now)."""
        self.__dict__.pop("_listing", None)
        self.__dict__.pop("_days_present", None)
        self._hashes.clear()
        self._prints.clear()


def read_file(spec: RawTable, key: str, data: bytes) -> pa.Table:
    """One drop file as a table of exactly the contract's schema, or ``BadDropFile`` naming it."""
    if not data:
        raise BadDropFile(f"drop zone file {key} is empty (0 bytes): re-export it, or remove it if the day has no rows")
    if key.endswith(".csv"):
        return _read_csv(spec, key, data)
    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - any parse error: not usable parquet
        raise BadDropFile(
            f"drop zone file {key} is not readable parquet ({exc.__class__.__name__}): re-export it"
        ) from None
    _check_columns(spec, key, table.column_names)
    table = table.select(list(spec.columns))
    wrong = [
        f"{f.name} is {f.type}, the contract needs {spec.columns[f.name]}"
        for f in table.schema
        if not _same_kind(f.type, spec.columns[f.name])
    ]
    if wrong:  # a cast would turn text into numbers: only widening within a kind is taken
        raise BadDropFile(f"drop zone file {key} has columns of the wrong type ({'; '.join(wrong)}): re-export them")
    try:
        return table.cast(spec.schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise BadDropFile(
            f"drop zone file {key} has types that do not fit the {spec.name} contract ({exc}): export "
            + ", ".join(f"{c} as {t}" for c, t in spec.columns.items())
        ) from None


def _same_kind(got: pa.DataType, want: pa.DataType) -> bool:
    """Whether a parquet column may be cast to the contract's type: integers to integers, numbers to
    floats, timestamps of any unit, text to text (dictionary-encoded text included)."""
    t = pa.types
    if t.is_dictionary(got):
        got = got.value_type
    if t.is_integer(want):
        return t.is_integer(got)
    if t.is_floating(want):
        return t.is_floating(got) or t.is_integer(got)
    if t.is_timestamp(want):
        return t.is_timestamp(got)
    if t.is_string(want):
        return t.is_string(got) or t.is_large_string(got)
    return got == want


def _check_columns(spec: RawTable, key: str, columns: list[str], hint: str = "") -> None:
    if set(columns) == set(spec.columns) and len(columns) == len(spec.columns):
        return
    extra = [c for c in columns if c not in spec.columns]
    missing = [c for c in spec.columns if c not in columns]
    problem = "; ".join(
        p
        for p in (
            f"extra column(s) {', '.join(extra)}" if extra else "",
            f"missing column(s) {', '.join(missing)}" if missing else "",
            "repeated column names" if not extra and not missing else "",
        )
        if p
    )
    raise BadDropFile(
        f"drop zone file {key} does not have the {spec.name} contract's columns ({problem}){hint}: export exactly "
        + ", ".join(spec.columns)
    )


def _read_csv(spec: RawTable, key: str, data: bytes) -> pa.Table:
    """CSV typed by the contract: the header must be the contract's column set, each column is
    parsed as the contract's type (never inferred), text must be UTF-8."""
    try:
        header = data.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8")
    except UnicodeDecodeError:
        raise BadDropFile(f"drop zone file {key} is not UTF-8 text: re-export it as UTF-8") from None
    columns = [c.strip('"') for c in header.split(",")]
    seps = ((";", "semicolon"), ("\t", "tab"), ("|", "pipe"))
    one = len(columns) == 1
    hint = next((f" (it looks {n}-separated: use commas)" for sep, n in seps if one and sep in header), "")
    _check_columns(spec, key, columns, hint)
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(encoding="utf8"),
            convert_options=pacsv.ConvertOptions(
                column_types=spec.schema,
                include_columns=list(spec.columns),
                strings_can_be_null=True,  # an empty field is a missing value, a quoted "" an empty text
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        detail = str(exc).splitlines()[0]
        raise BadDropFile(
            f"drop zone file {key} does not parse as the {spec.name} contract ({detail}): export UTF-8, "
            "comma-separated, with " + ", ".join(f"{c} as {t}" for c, t in spec.columns.items())
        ) from None
    return table.cast(spec.schema)


def write_folder(zone_root: Path, table: str, d: date | None, files: dict[str, bytes], complete: bool = True) -> Path:
    """Write ``files`` into a local drop zone's folder (the example, tests), the marker last."""
    where = zone_root / posixpath.join(*folder(table, d).split("/"))
    where.mkdir(parents=True, exist_ok=True)
    for name, data in sorted(files.items()):
        (where / name).write_bytes(data)
    if complete:
        (where / MARKER).write_bytes(b"")
    return where


# -- the example drop zone (``couponflow dropzone example``) -----------------------------------

EXAMPLE_CAMPAIGN_START = date(2017, 10, 30)  # campaign 18 (Type A, 1,133 planned recipients): make run's date
EXAMPLE_CSV_TABLES = ("coupon_redemptions", "campaigns")  # to show both formats; the rest as parquet


def example_days(n: int) -> list[date]:
    """The ``n`` bundled days that end on the example's campaign start (inclusive)."""
    from datetime import timedelta

    return [EXAMPLE_CAMPAIGN_START - timedelta(days=n - 1 - i) for i in range(n)]


def write_example(to: Path, n_days: int) -> list[date]:
    """Write ``n_days`` of the bundled year (ending on a campaign start) and every snapshot into
    ``to`` in the drop-zone layout, each folder with its marker; the recipients of campaigns that
    started before the first day go in its ``campaigns`` folder. Returns the days written."""
    import pyarrow.csv as pacsv

    from couponflow.platform.manifest import parquet_bytes
    from couponflow.platform.sources.completejourney import CompleteJourneySource

    bundled = CompleteJourneySource()
    days = example_days(n_days)

    def encode(table: str, rows: pa.Table) -> dict[str, bytes]:
        if table in EXAMPLE_CSV_TABLES:
            sink = io.BytesIO()
            pacsv.write_csv(rows, sink)
            return {"part-0.csv": sink.getvalue()}
        return {"part-0.parquet": parquet_bytes(rows)}

    for spec in SNAPSHOT_TABLES:
        write_folder(to, spec.name, None, encode(spec.name, bundled.snapshot(spec.name)))
    for d in days:
        for spec in DAILY_TABLES:
            rows = bundled.day(spec.name, d)
            if spec.name == "campaigns" and d == days[0]:  # earlier campaigns land with the first day
                rows = pa.concat_tables(bundled.day(spec.name, x) for x in calendar(bundled.first_day, d))
                rows = rows.sort_by([(k, "ascending") for k in spec.key])
            write_folder(to, spec.name, d, encode(spec.name, rows) if rows.num_rows else {})
    return days
