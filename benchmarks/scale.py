"""The daily job at 2,469 (the real year), 10k, 100k and 1M households: wall time and peak memory
of every stage, for the catch-up of a fresh home and for one incremental campaign day, and the
growth exponent between sizes.

Each size runs the real CLI (``couponflow daily``) in a child process on a fresh embedded home:
first the catch-up (``daily --date C``: land every day before C, one dbt build, gates, decide C),
then the incremental day (``daily --date C+1``: land one day, build, gate, score, allocate,
publish, report). C+1 is a campaign start, so the incremental day decides a real campaign:
2017-10-30 (campaign 18 of the real year, campaign 21 of the synthetic world of seed 0), or
2017-04-04 for 1M households (92 days of history, then one campaign start; a year of 1M is about
600M basket lines). Synthetic sizes use ``COUPONFLOW_SOURCE=synthetic``.

Per stage, the child reads the stage times of the run record and the peak resident memory of
the process inside each stage (Linux: /proc/self/clear_refs resets VmHWM when a stage starts; DuckDB
and dbt run in-process, Prefect's temporary server is a separate process and not counted). The
generation time of the synthetic world is measured apart (every table of one day, times the days).
dbt's slowest models come from its run_results.json.

Results are appended to the output file size by size, so a long run leaves what it measured.

Usage:  .venv/bin/python benchmarks/scale.py [--sizes real,10000,100000,1000000]
        [--memory-limit 8GB] [--land-batch-days 7] [--out benchmarks/results_scale.txt]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["land", "build", "gate-marts", "allocate", "gate-campaign", "publish", "report"]
YEAR_DAY = date(2017, 10, 30)  # a campaign start in both worlds
SHORT_DAY = date(2017, 4, 4)  # 1M: a campaign start of the synthetic world after 92 days

CHILD = r"""
import json, os, sys, time
from pathlib import Path

def hwm_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0

def reset_hwm():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass

import couponflow.platform.runs as runs
from contextlib import contextmanager
peaks, orig = {}, runs.RunRecord.stage

@contextmanager
def stage(self, name):
    reset_hwm()
    try:
        with orig(self, name):
            yield
    finally:
        peaks[name] = max(peaks.get(name, 0), hwm_kb() / 1024)

runs.RunRecord.stage = stage
from flows.cli import app
t0 = time.perf_counter()
try:
    rc = app(["daily", "--date", sys.argv[1]], standalone_mode=False) or 0
except SystemExit as exc:
    rc = exc.code or 0
wall = time.perf_counter() - t0
home = Path(os.environ["COUPONFLOW_HOME"])
records = [json.loads(p.read_text()) for p in (home / "lake" / "runs").glob("*.json")]
record = max(records, key=lambda r: r["started_at"]) if records else {"stages": {}, "outputs": {}}
rr = home / "dbt" / "target" / "run_results.json"
models = []
if rr.exists():
    res = json.loads(rr.read_text())["results"]
    timed = [(r["execution_time"], r["unique_id"].split(".")[-1]) for r in res if r["unique_id"].startswith("model.")]
    models = sorted(timed, reverse=True)[:6]
if rc:
    sys.exit(f"couponflow daily {sys.argv[1]} exited {rc}")
print("RESULT " + json.dumps({"rc": rc, "wall": wall, "stages": record["stages"], "peaks": peaks,
                              "sends": (record.get("outputs") or {}).get("sends"), "models": models}))
"""

GEN = r"""
import json, sys, time
from datetime import date, timedelta
from couponflow.platform.contract import DAILY_TABLES
from couponflow.platform.sources.synthetic import SyntheticSource
n, day = int(sys.argv[1]), date.fromisoformat(sys.argv[2])
src = SyntheticSource(n, 0)
for t in DAILY_TABLES:  # the household state and the campaigns, once, on the day before (a day is cached)
    src.day(t.name, day - timedelta(days=1))
t0 = time.perf_counter()
rows = sum(src.day(t.name, day).num_rows for t in DAILY_TABLES)
print("RESULT " + json.dumps({"day_s": time.perf_counter() - t0, "rows": rows}))
"""


def _result(out: str) -> dict:
    line = next(x for x in reversed(out.splitlines()) if x.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def _env(home: Path, size: str, memory_limit: str | None, batch_days: int | None) -> dict[str, str]:
    env = {
        **os.environ,
        "COUPONFLOW_HOME": str(home),
        "PREFECT_HOME": str(home / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "COUPONFLOW_DBT_NODE_TASKS": "false",
    }
    if size != "real":
        env.update(
            {"COUPONFLOW_SOURCE": "synthetic", "COUPONFLOW_SYNTH_HOUSEHOLDS": size, "COUPONFLOW_SYNTH_SEED": "0"}
        )
    if memory_limit:
        env["COUPONFLOW_DUCKDB_MEMORY_LIMIT"] = memory_limit
    if batch_days:
        env["COUPONFLOW_LAND_BATCH_DAYS"] = str(batch_days)
    return env


def _child(args: list[str], env: dict[str, str] | None, log: Path) -> tuple[int, str]:
    """Run a child with its output in a file, not a pipe, and wait for the child itself: when it
    dies (an OOM kill), Prefect's temporary server it started keeps an inherited pipe open, and a
    wait for the pipe's end never returns. Whatever it left running in its session is ended."""
    with log.open("w") as f:
        proc = subprocess.Popen(
            [sys.executable, "-c", *args], env=env, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, start_new_session=True
        )
        rc = proc.wait()
    with contextlib.suppress(ProcessLookupError):  # the temporary server, if the child died before stopping it
        os.killpg(proc.pid, signal.SIGTERM)
    return rc, log.read_text(errors="replace")


def _died(rc: int) -> str:
    return f"killed by signal {-rc} ({signal.Signals(-rc).name})" if rc < 0 else f"exited {rc}"


def run_day(home: Path, size: str, day: date, memory_limit: str | None, batch_days: int | None) -> dict:
    t0 = time.perf_counter()
    home.mkdir(parents=True, exist_ok=True)
    log = home.parent / f"{home.name}-{day}.log"
    rc, out = _child([CHILD, day.isoformat()], _env(home, size, memory_limit, batch_days), log)
    if rc or "RESULT " not in out:
        raise RuntimeError(
            f"daily {day} at {size} {_died(rc)} after {time.perf_counter() - t0:.0f} s; its output ends:\n{out[-3000:]}"
        )
    return {**_result(out), "process_s": time.perf_counter() - t0}


def generation(size: str, day: date) -> dict | None:
    if size == "real":
        return None
    log = Path(tempfile.mkdtemp(prefix="couponflow-gen-")) / "gen.log"
    rc, out = _child([GEN, size, day.isoformat()], None, log)
    if rc or "RESULT " not in out:
        raise RuntimeError(f"generating {size} households {_died(rc)}; its output ends:\n{out[-3000:]}")
    return _result(out)


def households(size: str) -> int:
    return 2469 if size == "real" else int(size)


def table(size: str, day: date, gen: dict | None, cold: dict, incr: dict) -> str:
    history = (day - timedelta(days=1) - date(2017, 1, 1)).days
    lines = [
        f"== {households(size):,} households ({'the real year' if size == 'real' else 'synthetic, seed 0'}); "
        f"catch-up = daily {day - timedelta(days=1)} on a fresh home ({history} days landed), "
        f"incremental = daily {day} (one day landed, a campaign start)"
    ]
    if gen:
        lines.append(
            f"generation: {gen['day_s']:.2f} s for one day ({gen['rows']:,} rows of the daily tables), "
            f"about {gen['day_s'] * (history + 1):.0f} s for the {history + 1} days"
        )
    lines.append(f"{'stage':<15}{'catch-up s':>12}{'peak MB':>10}{'incr s':>10}{'peak MB':>10}")
    for s in STAGES:
        lines.append(
            f"{s:<15}{cold['stages'].get(s, 0):>12.1f}{cold['peaks'].get(s, 0):>10.0f}"
            f"{incr['stages'].get(s, 0):>10.1f}{incr['peaks'].get(s, 0):>10.0f}"
        )
    lines.append(
        f"{'flow total':<15}{sum(cold['stages'].values()):>12.1f}{max(cold['peaks'].values() or [0]):>10.0f}"
        f"{sum(incr['stages'].values()):>10.1f}{max(incr['peaks'].values() or [0]):>10.0f}"
    )
    lines.append(
        f"{'process wall':<15}{cold['process_s']:>12.1f}{'':>10}{incr['process_s']:>10.1f}"
        "   (imports and Prefect's temporary server included)"
    )
    lines.append(f"sends: {cold['sends']} catch-up, {incr['sends']} incremental")
    for name, r in (("catch-up", cold), ("incremental", incr)):
        lines.append(f"dbt slowest models, {name}: " + ", ".join(f"{m} {t:.1f}s" for t, m in r["models"]))
    return "\n".join(lines)


def _stage_s(r: dict, stage: str) -> float:
    return sum(r["stages"].values()) if stage == "total" else r["stages"].get(stage, 0)


def exponents(done: list[tuple[str, dict, dict]]) -> str:
    """log(time ratio) / log(households ratio) per stage, between consecutive sizes of the same
    calendar (1M, on a shorter history, is compared with nothing)."""
    out = ["== growth exponent per stage (1 = linear in households), incremental day / catch-up"]
    year = [(s, c, i) for s, c, i in done if s != "1000000"]
    for (s1, c1, i1), (s2, c2, i2) in itertools.pairwise(year):
        k = math.log(households(s2) / households(s1))
        row = []
        for s in [*STAGES, "total"]:
            vals = []
            for a, b in ((i1, i2), (c1, c2)):
                ta, tb = _stage_s(a, s), _stage_s(b, s)
                vals.append(f"{math.log(tb / ta) / k:.2f}" if ta > 0.05 and tb > 0.05 else "-")
            row.append(f"{s} {vals[0]}/{vals[1]}")
        out.append(f"{households(s1):,} -> {households(s2):,}: " + ", ".join(row))
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="real,10000,100000,1000000")
    ap.add_argument("--memory-limit", default=None, help="COUPONFLOW_DUCKDB_MEMORY_LIMIT for every run")
    ap.add_argument("--land-batch-days", type=int, default=None, help="COUPONFLOW_LAND_BATCH_DAYS for every run")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results_scale.txt"))
    ap.add_argument(
        "--short", action="store_true", help="every size on the 1M calendar: 92 days of history, then 2017-04-04"
    )
    ap.add_argument("--keep", default=None, help="keep the homes under this folder (default: temporary)")
    args = ap.parse_args()
    out = Path(args.out)
    head = (
        f"benchmarks/scale.py, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
        f"DuckDB memory limit {args.memory_limit or 'default'}, "
        f"land batch {args.land_batch_days or 'default'} days; ran beside other work on shared cores, so "
        "times are upper bounds"
    )
    with out.open("a") as f:
        f.write(head + "\n")
    print(head)
    done = []
    base = Path(args.keep or tempfile.mkdtemp(prefix="couponflow-scale-"))
    for size in args.sizes.split(","):
        day = SHORT_DAY if size == "1000000" or args.short else YEAR_DAY
        home = base / f"home-{size}"
        gen = generation(size, day - timedelta(days=1))
        try:
            cold = run_day(home, size, day - timedelta(days=1), args.memory_limit, args.land_batch_days)
            incr = run_day(home, size, day, args.memory_limit, args.land_batch_days)
        except RuntimeError as exc:  # a child died: say so in the results, and go on with no more sizes
            print(exc, flush=True)
            with out.open("a") as f:
                f.write(f"== {households(size):,} households: {str(exc).splitlines()[0]}\n")
            raise SystemExit(1) from None
        done.append((size, cold, incr))
        text = table(size, day, gen, cold, incr)
        if len(done) > 1:  # after every size, so that a run stopped later keeps them
            text += "\n" + exponents(done)
        print(text, flush=True)
        with out.open("a") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
