"""CPU seconds and peak memory of two versions of a feature mart's SQL (household_features, or
offer_features with --model) on the same warehouse: a catch-up (every as-of date at once) and an
incremental day (the newest as-of date alone; for offer_features, the newest campaign start).
Both versions' rows are compared (EXCEPT ALL both ways, doubles to the bit) and the table says
whether they are equal.

Each SQL file is a model as dbt compiled it (``<home>/dbt/target/compiled/couponflow/models/marts/
household_features.sql`` after a build at the commit to measure); its ``dates`` CTE is replaced by
every as-of date, then by the newest, so both versions compute the same rows. The warehouse must
hold what both read (a build at the newer commit keeps the staging tables the older one reads).
One DuckDB thread, as the project builds. Each query runs in a fresh process (a DuckDB instance
keeps the buffers of an earlier query), whose peak resident memory (VmHWM, Linux) is reported.

offer_features: compile it for a full build (``dbt compile --full-refresh --select offer_features``,
or the first build's compiled file); its ``offers`` join to as_of_dates is narrowed for the
incremental variant.

Usage:  .venv/bin/python benchmarks/features_cost.py WAREHOUSE.duckdb BEFORE.sql AFTER.sql [--model offer_features]
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
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

# offer_features: its offers CTE joins as_of_dates on the campaign's start
OFFERS = re.compile(r'join "warehouse"\."marts"\."as_of_dates" d on d\.as_of_date = c\.start_date')
CAMPAIGNS = '"warehouse"."marts"."campaigns"'
OFFER_VARIANTS = {
    "catch-up (every as-of date)": f"join {AS_OF} d on d.as_of_date = c.start_date",
    "incremental (the newest as-of date)": (
        f"join (select * from {AS_OF} where as_of_date = (select max(a.as_of_date) from {AS_OF} a "
        f"join {CAMPAIGNS} k on k.start_date = a.as_of_date)) d on d.as_of_date = c.start_date"
    ),
}


def _query(sql: str, model: str, variant: str) -> str:
    if model == "offer_features":
        assert OFFERS.search(sql), "the offers CTE's join to as_of_dates is not in the compiled SQL"
        return OFFERS.sub(lambda _m: OFFER_VARIANTS[variant], sql, count=1)
    return DATES.sub(lambda _m: VARIANTS[variant], sql[sql.index("with dates as") :], count=1)


def _peak_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024


def measure(warehouse: str, sql_file: str, variant: str, model: str, keep: str) -> None:
    """One query in this process: prints rows, CPU s, wall s, peak MB as JSON; its rows go to keep."""
    query = _query(Path(sql_file).read_text(), model, variant)
    con = duckdb.connect(warehouse, read_only=True)
    con.execute("set threads = 1")
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    con.execute(f"create or replace temp table measured as {query}")
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    (rows,) = con.execute("select count(*) from measured").fetchone()
    con.execute(f"copy measured to '{keep}' (format parquet)")
    cpu = r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime
    print(json.dumps({"rows": rows, "cpu": cpu, "wall": wall, "peak": _peak_mb()}))


def _equal(a: str, b: str) -> str:
    """Whether two results hold the same rows, to the bit (their columns by name)."""
    con = duckdb.connect()
    cols = ", ".join(f'"{d[0]}"' for d in con.execute(f"select * from '{a}' limit 0").description)
    (n,) = con.execute(
        f"select count(*) from ((select {cols} from '{a}' except all select {cols} from '{b}') "
        f"union all (select {cols} from '{b}' except all select {cols} from '{a}'))"
    ).fetchone()
    return "yes" if n == 0 else f"NO ({n} rows differ)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("warehouse")
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--model", default="household_features", choices=["household_features", "offer_features"])
    ap.add_argument("--measure", default=None, help=argparse.SUPPRESS)  # internal: one query, one process
    ap.add_argument("--keep", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        measure(args.warehouse, args.before, args.measure, args.model, args.keep)
        return
    print(f"{'variant':<38}{'version':<9}{'rows':>10}{'CPU s':>9}{'wall s':>9}{'peak MB':>9}  rows equal")
    with tempfile.TemporaryDirectory() as tmp:
        for i, variant in enumerate(VARIANTS):
            kept = []
            for name, sql_file in (("before", args.before), ("after", args.after)):
                keep = f"{tmp}/{i}-{name}.parquet"
                cmd = [sys.executable, __file__, args.warehouse, sql_file, sql_file, "--model", args.model]
                out = subprocess.run(
                    [*cmd, "--measure", variant, "--keep", keep], check=True, capture_output=True, text=True
                )
                r = json.loads(out.stdout.strip().splitlines()[-1])
                kept.append(keep)
                row = f"{variant:<38}{name:<9}{r['rows']:>10,}{r['cpu']:>9.1f}{r['wall']:>9.1f}{r['peak']:>9.0f}"
                if name == "after":
                    row += f"  {_equal(*kept)}"
                print(row, flush=True)


if __name__ == "__main__":
    main()
