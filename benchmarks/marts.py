"""dbt marts: full build of the year, one incremental day, rows per mart, peak memory, and
what passing the run date through --vars would cost (a full re-parse).

Each step (land what is missing, expose the lake, one dbt command) runs in its own process;
peak MB is that process's max RSS (DuckDB inside dbt included).
Usage:  .venv/bin/python benchmarks/marts.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

DAY_CUT = date(2017, 12, 30)  # land the year up to here, then add one day incrementally

STEP = r"""
import json, sys, time
from datetime import date
from couponflow.platform.config import load_settings
from couponflow.app.ingest import land_through
from couponflow.platform.sources.completejourney import CompleteJourneySource
from couponflow.platform.storage import LocalStore
from couponflow.platform.warehouse import expose_lake, run_dbt
home, through, args = sys.argv[1], date.fromisoformat(sys.argv[2]), json.loads(sys.argv[3])
s = load_settings(home=home)
store = LocalStore(s.lake_dir)
land_through(store, CompleteJourneySource(), through)
expose_lake(s, store)
t0 = time.perf_counter()
res = run_dbt(s, *args)
import resource
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"dbt_s": time.perf_counter() - t0, "summary": res.summary, "peak_mb": peak_mb}))
"""


def step(home: Path, through: date, *args: str) -> dict:
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", STEP, str(home), through.isoformat(), json.dumps(args)],
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    res = json.loads(out.stdout.strip().splitlines()[-1])
    return {"wall_s": wall, **res}


def main() -> None:
    import duckdb

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        rows = [("full build of the year (--full-refresh)", step(home, DAY_CUT, "build", "--full-refresh"))]
        rows.append(("one incremental day (dbt build)", step(home, date(2017, 12, 31), "build")))
        rows.append(("no new data (dbt build)", step(home, date(2017, 12, 31), "build")))
        rows.append(
            (
                "no new data, --vars run_date (re-parse)",
                step(home, date(2017, 12, 31), "build", "--vars", "{run_date: '2018-01-01'}"),
            )
        )
        rows.append(
            (
                "no new data, --vars changed again",
                step(home, date(2017, 12, 31), "build", "--vars", "{run_date: '2018-01-02'}"),
            )
        )
        print(f"{'step':<44}{'dbt s':>8}{'process s':>11}{'peak MB':>9}  nodes")
        for name, r in rows:
            print(f"{name:<44}{r['dbt_s']:>8.1f}{r['wall_s']:>11.1f}{r['peak_mb']:>9.0f}  {r['summary']}")
        con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
        print()
        print(f"{'mart':<32}{'rows':>12}")
        for (name,) in con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema in ('staging', 'marts') order by 1"
        ).fetchall():
            print(f"{name:<32}{con.execute(f'select count(*) from {name}').fetchone()[0]:>12,}")


if __name__ == "__main__":
    main()
