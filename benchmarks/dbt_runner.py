"""dbt through prefect-dbt's PrefectDbtRunner versus dbt's own dbtRunner, on one landed home.

The house issue asks whether every dbt model and test should be a Prefect task with its own
state and log (``PrefectDbtRunner``). This script measures what that costs and checks what it
must not change: it copies a home whose lake is landed and whose warehouse is built, then for
each runner, inside one Prefect flow run (the same embedded server for both), exposes the lake and
runs the daily ``dbt build`` (``--exclude-resource-type unit_test``) ``--repeat`` times. It prints
the wall time of each build, the task runs the flow run got, and a digest of every table dbt
built (rows in a fixed order), which must be equal for the two runners.

Usage:  .venv/bin/python benchmarks/dbt_runner.py HOME [--repeat 3]
        HOME: a couponflow home after a daily run (e.g. `couponflow daily --date 2017-10-30`)
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from couponflow.platform.config import load_settings, offline_environment  # noqa: E402
from couponflow.platform.warehouse import connect, run_dbt  # noqa: E402

BUILD = ("build", "--exclude-resource-type", "unit_test")
SCHEMAS = ("staging", "intermediate", "marts")


def table_digest(settings) -> str:
    """sha256 over every table and view dbt built, each read in a fixed row order."""
    digest = hashlib.sha256()
    with connect(settings) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in {SCHEMAS} order by all"
        ).fetchall()
        for schema, name in tables:
            digest.update(f"{schema}.{name}".encode())
            frame = con.execute(f'select * from "{schema}"."{name}" order by all').df()
            digest.update(frame.to_csv(index=False).encode())
    return digest.hexdigest()[:16]


def measure(home: Path, which: str, repeat: int) -> dict:
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.runtime import flow_run

    from couponflow.platform.storage import LocalStore

    # the project's own switch (Settings.dbt_node_tasks), so this measures the code the flows run
    settings = load_settings(home=home, dbt_node_tasks=which == "PrefectDbtRunner")
    store = LocalStore(settings.lake_dir)
    times: list[float] = []

    @flow(name=f"dbt-{which}")
    def run() -> str:
        for _ in range(repeat):
            start = time.perf_counter()
            from couponflow.platform.warehouse import expose_lake

            expose_lake(settings, store)
            run_dbt(settings, *BUILD)
            times.append(time.perf_counter() - start)
        return str(flow_run.get_id())

    run_id = run()
    tasks = 0
    with get_client(sync_client=True) as client:
        while page := client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])), limit=200, offset=tasks
        ):
            tasks += len(page)
    return {"which": which, "times": times, "tasks": tasks, "digest": table_digest(settings)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    source = load_settings(home=args.home)
    if not source.warehouse_path.exists():
        sys.exit(f"{source.home_dir} has no built warehouse: run `couponflow daily --date D` with it first")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        # dbt and Prefect offline, one Prefect home (one embedded server) for both runners
        os.environ.update(offline_environment(load_settings(home=Path(tmp))))
        for which in ("dbtRunner", "PrefectDbtRunner"):
            home = Path(tmp) / which
            shutil.copytree(source.home_dir, home, ignore=shutil.ignore_patterns("prefect"))
            rows.append(measure(home, which, args.repeat))
    print(f"{'runner':<18} {'builds':>6} {'median s':>9} {'min s':>7} {'max s':>7} {'task runs':>10}  tables digest")
    for r in rows:
        t = r["times"]
        print(
            f"{r['which']:<18} {len(t):>6} {statistics.median(t):>9.1f} {min(t):>7.1f} {max(t):>7.1f} "
            f"{r['tasks']:>10}  {r['digest']}"
        )
    same = rows[0]["digest"] == rows[1]["digest"]
    print(f"same tables: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
