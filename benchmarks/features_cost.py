"""CPU seconds and peak memory of two versions of household_features' SQL on the same warehouse:
a catch-up (every as-of date at once) and an incremental day (the newest as-of date alone).

Each SQL file is a model as dbt compiled it (``<home>/dbt/target/compiled/couponflow/models/marts/
household_features.sql`` after a build at the commit to measure); its ``dates`` CTE is replaced by
every as-of date, then by the newest, so both versions compute the same rows. The warehouse must
hold what both read (a build at the newer commit keeps the staging tables the older one reads).
One DuckDB thread, as the project builds. Each query runs in a fresh process (a DuckDB instance
keeps the buffers of an earlier query), whose peak resident memory (VmHWM, Linux) is reported.

Usage:  .venv/bin/python benchmarks/features_cost.py WAREHOUSE.duckdb BEFORE.sql AFTER.sql
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import duckdb

DATES = re.compile(r"with dates as \(.*?\n\),", re.S)
AS_OF = '"warehouse"."marts"."as_of_dates"'
VARIANTS = {
    "catch-up (every as-of date)": f"with dates as (select as_of_date, first_landed from {AS_OF}),",
    "incremental (the newest as-of date)": (
        f"with dates as (select as_of_date, first_landed from {AS_OF} "
        f"where as_of_date = (select max(as_of_date) from {AS_OF})),"
    ),
}


def _peak_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024


def measure(warehouse: str, sql_file: str, variant: str) -> None:
    """One query in this process: prints rows, CPU s, wall s, peak MB as JSON."""
    sql = Path(sql_file).read_text()
    query = DATES.sub(lambda _m: VARIANTS[variant], sql[sql.index("with dates as") :], count=1)
    con = duckdb.connect(warehouse)
    con.execute("set threads = 1")
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    con.execute(f"create or replace temp table measured as {query}")
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    (rows,) = con.execute("select count(*) from measured").fetchone()
    cpu = r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime
    print(json.dumps({"rows": rows, "cpu": cpu, "wall": wall, "peak": _peak_mb()}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("warehouse")
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--measure", default=None, help=argparse.SUPPRESS)  # internal: one query, one process
    args = ap.parse_args()
    if args.measure:
        measure(args.warehouse, args.before, args.measure)
        return
    print(f"{'variant':<38}{'version':<9}{'rows':>10}{'CPU s':>9}{'wall s':>9}{'peak MB':>9}")
    for variant in VARIANTS:
        for name, sql_file in (("before", args.before), ("after", args.after)):
            out = subprocess.run(
                [sys.executable, __file__, args.warehouse, sql_file, sql_file, "--measure", variant],
                check=True,
                capture_output=True,
                text=True,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            row = f"{variant:<38}{name:<9}{r['rows']:>10,}{r['cpu']:>9.1f}{r['wall']:>9.1f}{r['peak']:>9.0f}"
            print(row, flush=True)


if __name__ == "__main__":
    main()
