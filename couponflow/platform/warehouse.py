"""The DuckDB warehouse: a working copy of the lake, rebuilt by dbt.

``expose_lake`` makes dbt's sources read exactly the files the manifests list: for every raw
table it creates a view ``raw.<table>`` over that explicit file list (never a glob that could
pick up leftovers). With the S3 backend the listed objects are first copied into a local cache,
checked against their sha256. ``run_dbt`` runs the dbt project in-process through ``dbtRunner``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from couponflow.platform import manifest
from couponflow.platform.config import Settings
from couponflow.platform.contract import DAILY_TABLES, SNAPSHOT_TABLES
from couponflow.platform.lake import raw_table_prefix
from couponflow.platform.storage import ObjectStore

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"


class WarehouseError(RuntimeError):
    """dbt failed, or the lake holds nothing to build from; the message says what and how to fix it."""


def _published(store: ObjectStore, table: str) -> list[manifest.Dataset]:
    datasets = []
    for key in store.list(raw_table_prefix(table)):
        if key.endswith("/" + manifest.MANIFEST):
            ds = manifest.read(store, key.rsplit("/", 1)[0])
            if ds is not None:
                datasets.append(ds)
    return datasets


def _local_file(store: ObjectStore, settings: Settings, ds: manifest.Dataset, name: str) -> Path:
    """A local path holding the object's listed bytes (the object itself, or a verified copy)."""
    key = ds.key(name)
    path = store.local_path(key)
    if path is not None:
        return path
    cached = settings.lake_cache_dir / key
    entry = next(o for o in ds.objects if o["name"] == name)
    if cached.is_file() and manifest.sha256(cached.read_bytes()) == entry["sha256"]:
        return cached
    data = manifest.read_object(store, ds, name)
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(cached)
    return cached


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def duckdb_config(settings: Settings) -> dict[str, str]:
    """DuckDB's resources from the settings, for every connection and for dbt's (profiles.yml):
    threads, the memory limit (DuckDB's own default, 80% of the RAM, when none is set) and the
    folder a build spills to past it."""
    if settings.duckdb_memory_limit:
        memory = settings.duckdb_memory_limit.replace(" ", "")
    else:
        memory = f"{int(0.8 * os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**20)}MiB"
    return {
        "threads": str(settings.duckdb_threads),
        "memory_limit": memory,
        "temp_directory": str(settings.duckdb_spill_dir),
    }


@contextlib.contextmanager
def connect(settings: Settings):
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.warehouse_path))
    # SET, not connect(config=): an open instance of the file (dbt's, in this process) refuses a
    # second connection whose config differs from its own. DuckDB refuses to SET temp_directory
    # once a query has spilled there, even to the same folder: set it only when it differs
    for name, value in duckdb_config(settings).items():
        if name == "temp_directory":
            row = con.execute("select current_setting('temp_directory')").fetchone()
            if row is not None and str(row[0]).rstrip("/") == value.rstrip("/"):
                continue
        con.execute(f"set {name} = {_sql_str(value)}")
    try:
        yield con
    finally:
        con.close()


def _snapshot_view(store: ObjectStore, settings: Settings, table: str, datasets: list[manifest.Dataset]) -> str:
    """Every version of a snapshot, each row with its ``snapshot_version`` and ``valid_from`` (the
    first data day it describes; ``couponflow.platform.snapshots``)."""
    legacy = [ds.prefix for ds in datasets if "version" not in ds.manifest]
    if legacy:
        raise WarehouseError(
            f"{legacy[0]} is a snapshot of the layout before snapshot versions (raw/<table>/snapshot/version=N/): "
            "land the lake afresh under a new COUPONFLOW_HOME (the source lands it as version 1)"
        )
    parts = []
    for ds in sorted(datasets, key=lambda d: int(d.manifest["version"])):
        files = sorted(
            str(_local_file(store, settings, ds, o["name"])) for o in ds.objects if o["name"].endswith(".parquet")
        )
        parts.append(
            f"select *, {int(ds.manifest['version'])} as snapshot_version, DATE {_sql_str(ds.manifest['valid_from'])} "
            f"as valid_from from read_parquet([{', '.join(_sql_str(p) for p in files)}])"
        )
    return " union all ".join(parts)


def expose_lake(settings: Settings, store: ObjectStore) -> dict[str, int]:
    """(Re)create ``raw.<table>`` views over the manifest-listed files; returns files per table."""
    views: dict[str, str] = {}
    counts: dict[str, int] = {}
    landed: list[tuple[str, str]] = []
    published = {spec.name: _published(store, spec.name) for spec in DAILY_TABLES + SNAPSHOT_TABLES}
    # a day is landed only when every daily table of it is: a half-landed day (a crash between its
    # tables) stays invisible to dbt until the next run completes it
    complete_days = set.intersection(
        *({ds.manifest["partition"] for ds in published[spec.name]} for spec in DAILY_TABLES)
    )
    for spec in DAILY_TABLES + SNAPSHOT_TABLES:
        datasets = published[spec.name]
        if spec.daily:
            datasets = [ds for ds in datasets if ds.manifest["partition"] in complete_days]
        if not datasets:
            raise WarehouseError(
                f"the lake holds no published {spec.name} data: land some days first "
                "(couponflow daily --date D lands everything before D)"
            )
        paths = [
            str(_local_file(store, settings, ds, o["name"]))
            for ds in datasets
            for o in ds.objects
            if o["name"].endswith(".parquet")
        ]
        counts[spec.name] = len(paths)
        file_list = "[" + ", ".join(_sql_str(p) for p in sorted(paths)) + "]"
        if spec.daily:
            views[spec.name] = (
                f"select * from read_parquet({file_list}, hive_partitioning = true, hive_types = {{'date': DATE}})"
            )
            landed += [(spec.name, ds.manifest["partition"]) for ds in datasets]
        else:
            views[spec.name] = _snapshot_view(store, settings, spec.name, datasets)
    values = ", ".join(f"({_sql_str(t)}, DATE {_sql_str(d)})" for t, d in sorted(landed))
    with connect(settings) as con:
        con.execute("create schema if not exists raw")
        for name, sql in views.items():
            con.execute(f"create or replace view raw.{name} as {sql}")
        con.execute(
            f"create or replace view raw.landed_partitions as select * from (values {values}) as t(table_name, date)"
        )
    return counts


@dataclass(frozen=True)
class DbtResult:
    nodes: list[tuple[str, str]]  # (unique_id, status)
    warnings: list[str]
    shown: list[dict[str, Any]] = field(default_factory=list)  # the rows of a ``dbt show``

    @property
    def summary(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for _, status in self.nodes:
            out[status] = out.get(status, 0) + 1
        return out


def _in_prefect_run() -> bool:
    from prefect.context import FlowRunContext, TaskRunContext

    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def _runner(settings: Settings, collect: Callable[[Any], None]) -> Any:
    """prefect-dbt's runner inside a flow (``dbt_node_tasks``): each dbt node becomes a Prefect task
    whose state is the node's and whose log is the node's lines; else dbt's own, whose warnings
    ``collect`` gathers. Both run dbt in this process, one thread (profiles.yml), one writer."""
    if settings.dbt_node_tasks and _in_prefect_run():
        from prefect_dbt import PrefectDbtRunner, PrefectDbtSettings

        return PrefectDbtRunner(
            settings=PrefectDbtSettings(
                project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target_path=settings.dbt_target_dir
            ),
            raise_on_failure=False,  # a failed node is reported below, as with dbtRunner
            disable_assets=True,  # no asset events: the lake's manifests are the lineage operators read
        )
    from dbt.cli.main import dbtRunner

    return dbtRunner(callbacks=[collect])


def run_dbt(settings: Settings, *args: str) -> DbtResult:
    """Run one dbt command (``"build"``, ``"run"``, ``"docs", "generate"`` ...) in-process.

    With dbt's own runner, warnings dbt logs (deprecations, unused config paths, failing soft
    tests) are collected and returned, so callers and tests can insist on none; with prefect-dbt's
    they are in the node tasks' logs.
    """
    warnings: list[str] = []

    def collect(event) -> None:
        if event.info.level == "warn":
            warnings.append(event.info.msg)

    resources = duckdb_config(settings)
    env = {
        "COUPONFLOW_WAREHOUSE_PATH": str(settings.warehouse_path),
        # read by profiles.yml: dbt's DuckDB gets the same resources as every other connection
        "COUPONFLOW_WAREHOUSE_THREADS": resources["threads"],
        "COUPONFLOW_WAREHOUSE_MEMORY_LIMIT": resources["memory_limit"],
        "COUPONFLOW_WAREHOUSE_TEMP_DIR": resources["temp_directory"],
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    command = " ".join(a for a in args if not a.startswith("-")) or "build"
    try:
        # the spill folder is the database instance's, not a cursor's: it is SET here, on a
        # connection held open while dbt runs (dbt's own joins the same instance), not in the
        # profile, whose settings dbt SETs again on every cursor, which DuckDB refuses once a
        # query has spilled (every node after a build's first spill failed)
        with connect(settings):
            res = _runner(settings, collect).invoke(
                [
                    *(args or ("build",)),
                    "--project-dir",
                    str(DBT_PROJECT_DIR),
                    "--profiles-dir",
                    str(DBT_PROJECT_DIR),
                    "--target-path",
                    str(settings.dbt_target_dir),
                    "--log-path",
                    str(settings.dbt_log_dir),
                    "--quiet",
                ]
            )
    except ValueError as exc:  # prefect-dbt's way of saying that dbt could not start
        raise WarehouseError(f"dbt {command} could not run: {exc}") from exc
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    if res.exception is not None:
        raise WarehouseError(f"dbt {command} could not run: {res.exception}")
    results = getattr(res.result, "results", None) or []  # node results (not for docs generate)
    nodes = [(r.node.unique_id, str(r.status)) for r in results]
    if not res.success:
        bad = [
            f"{r.node.unique_id}: {(r.message or '').strip()[:300]}"
            for r in results
            if str(r.status) in ("error", "fail")
        ]
        raise WarehouseError(
            f"dbt {command} failed on {len(bad)} node(s): "
            + "; ".join(bad[:5])
            + f". See {settings.dbt_log_dir}/dbt.log"
        )
    table = getattr(results[0], "agate_table", None) if args[:1] == ("show",) and results else None
    shown = [dict(zip(table.column_names, row)) for row in table.rows] if table is not None else []
    return DbtResult(nodes, warnings, shown)


def query_df(settings: Settings, sql: str, params: list | None = None) -> pd.DataFrame:
    """Run a read query on the warehouse (one connection for it) and return a pandas DataFrame."""
    with connect(settings) as con:
        return con.execute(sql, params or []).df()


class Warehouse:
    """The warehouse as a resource built once per run: a connection factory over the DuckDB file.

    ``with warehouse.session():`` opens one connection that every ``query`` inside the block
    shares (a step's reads); outside a session each query opens and closes its own. DuckDB has
    one writer per file, so dbt (``build``) refuses to run while a session is open.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._con: duckdb.DuckDBPyConnection | None = None

    @property
    def exists(self) -> bool:
        return self.settings.warehouse_path.exists()

    @contextlib.contextmanager
    def session(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if self._con is not None:  # nested: share the open one
            yield self._con
            return
        with connect(self.settings) as con:
            self._con = con
            try:
                yield con
            finally:
                self._con = None

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        if self._con is not None:
            return self._con.execute(sql, params or []).df()
        return query_df(self.settings, sql, params)

    def expose(self, store: ObjectStore) -> dict[str, int]:
        return expose_lake(self.settings, store)

    def build(self, *args: str) -> DbtResult:
        if self._con is not None:
            raise RuntimeError("a warehouse session is open: close it before dbt runs (one writer per DuckDB file)")
        return run_dbt(self.settings, *args)
