"""Wall time of each stage of the daily job, cold (fresh home, catch-up) and incremental.

Runs the real CLI in subprocesses on a fresh embedded home, then reads the run records from the
lake and prints one table. Usage:  .venv/bin/python benchmarks/daily_stages.py [--date 2017-10-30]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

BIN = Path(sys.executable).parent


def run(home: Path, day: date) -> tuple[float, dict]:
    env = {**os.environ, "COUPONFLOW_HOME": str(home)}
    t0 = time.perf_counter()
    subprocess.run(
        [str(BIN / "couponflow"), "daily", "--date", day.isoformat()],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - t0
    records = [json.loads(p.read_text()) for p in (home / "lake" / "runs").glob("*.json")]
    record = max(records, key=lambda r: r["started_at"])
    return wall, record


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--date", default="2017-10-30")
    day = date.fromisoformat(ap.parse_args().date)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        cold_wall, cold = run(home, day)
        inc_wall, inc = run(home, day + timedelta(days=1))
    order = ["land", "build", "gate-marts", "allocate", "gate-campaign", "publish", "report"]
    recorded = list(dict.fromkeys([*cold["stages"], *inc["stages"]]))
    stages = [s for s in order if s in recorded] + [s for s in recorded if s not in order]
    print(
        f"daily job stages, seconds (cold = fresh home, lands {(day - date(2017, 1, 1)).days} days of "
        "history first; incremental = the next day)"
    )
    print(f"{'stage':<12}{'cold ' + str(day):>18}{'incr ' + str(day + timedelta(days=1)):>18}")
    for s in stages:
        print(f"{s:<12}{cold['stages'].get(s, 0):>18.2f}{inc['stages'].get(s, 0):>18.2f}")
    print(f"{'flow total':<12}{sum(cold['stages'].values()):>18.2f}{sum(inc['stages'].values()):>18.2f}")
    print(f"{'process wall':<12}{cold_wall:>18.2f}{inc_wall:>18.2f}   (imports + temporary Prefect server included)")
    print(f"sends: {cold['outputs'].get('sends')} on {day}, {inc['outputs'].get('sends')} on {day + timedelta(days=1)}")


if __name__ == "__main__":
    main()
