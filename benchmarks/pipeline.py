"""Wall time and peak memory per stage of the daily job: a fresh catch-up and one incremental day,
embedded (Prefect's temporary server) and under a running ``prefect server start``; by default
with prefect-dbt's node tasks (a run's default) and, under the server, also with dbt's own runner
(``COUPONFLOW_DBT_NODE_TASKS=false``, the "/dbt" columns).

    .venv/bin/python benchmarks/pipeline.py [--date 2017-10-30] [--variants embedded:true,server:true,server:false]

For each mode, a fresh home runs ``couponflow daily --date D`` (it lands every day before D, then
decides D: the catch-up) and then ``couponflow daily --date D+1`` (one incremental day), each in
a process of its own, through the real CLI. Inside that process the stages are timed where their
code runs (the functions the tasks call, not the tasks), and a sampler reads the process's RSS
every 10 ms, so that the peak of each stage is the highest RSS seen while it was the innermost
stage running:

    land          the task's landing minus the raw gate (source reads, parquet, manifests)
    raw gate      expectations.raw_gate.check_partitions (GX)
    dbt build     Warehouse.expose + Warehouse.build (with prefect-dbt's node tasks by default)
    marts gate    the marts gate task's body
    score         the champion's predict on the day's candidates
    allocate      the allocate task's body minus score (candidates, eligibility, the solver)
    campaign gate the campaign gate task's body
    publish       the gate record, the decision log and the campaign
    report        the report (page, Data Docs, monitoring), its Prefect artifacts, latest.json

"flow wall" is the in-process time of the CLI command (settings checks, the home's lock, the flow
run); "Prefect" is flow wall minus the stages: task and flow orchestration, the API calls, the
temporary server's start in embedded mode. "process wall" adds the imports. The server mode starts
``prefect server start`` on 127.0.0.1 with a PREFECT_HOME in a temporary folder, waits for its
health endpoint, and points PREFECT_API_URL at it; its own memory is not in the table.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

BIN = Path(sys.executable).parent
STAGES = (
    "land",
    "raw gate",
    "dbt build",
    "marts gate",
    "score",
    "allocate",
    "campaign gate",
    "publish",
    "report",
)


# -- inside the measured process --------------------------------------------------------------


class Meter:
    """Exclusive wall time per stage (nested stages are subtracted) and peak RSS per stage."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(STAGES, 0.0)
        self.peak_mb = dict.fromkeys(STAGES, 0.0)
        self._stack: list[list] = []  # [stage, started, child seconds]
        self._lock = threading.Lock()
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    @staticmethod
    def rss_mb() -> float:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            rss = self.rss_mb()
            with self._lock:
                if self._stack:
                    stage = self._stack[-1][0]
                    self.peak_mb[stage] = max(self.peak_mb[stage], rss)

    @contextlib.contextmanager
    def stage(self, name: str):
        with self._lock:
            self._stack.append([name, time.perf_counter(), 0.0])
            self.peak_mb[name] = max(self.peak_mb[name], self.rss_mb())
        try:
            yield
        finally:
            with self._lock:
                _, started, child = self._stack.pop()
                total = time.perf_counter() - started
                self.seconds[name] += total - child
                if self._stack:
                    self._stack[-1][2] += total

    def wrap(self, name: str, fn):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            with self.stage(name):
                return fn(*args, **kwargs)

        return timed


def _instrument(meter: Meter) -> None:
    from couponflow.app import ingest
    from couponflow.platform.warehouse import Warehouse
    from flows import tasks

    ingest.check_partitions = meter.wrap("raw gate", ingest.check_partitions)
    Warehouse.expose = meter.wrap("dbt build", Warehouse.expose)
    Warehouse.build = meter.wrap("dbt build", Warehouse.build)
    for task, stage in (
        (tasks.land, "land"),
        (tasks.gate_marts, "marts gate"),
        (tasks.allocate, "allocate"),
        (tasks.gate_campaign, "campaign gate"),
        (tasks.record_gates, "publish"),
        (tasks.publish, "publish"),
        (tasks.write_report, "report"),
        (tasks.advance_latest, "report"),
    ):
        task.fn = meter.wrap(stage, task.fn)

    load_scorer = tasks.load_scorer

    def scorer_with_timed_predict(*args, **kwargs):
        scorer = load_scorer(*args, **kwargs)
        predict = scorer.predict
        scorer.predict = meter.wrap("score", predict)
        return scorer

    tasks.load_scorer = scorer_with_timed_predict


def measure(day: str) -> None:
    """One ``couponflow daily --date day`` in this process; prints its measurements as JSON."""
    # not benchmarks/ on the path: dbt's plugin manager imports every top-level dbt_* module it
    # can find, and benchmarks/dbt_runner.py is one
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    t0 = time.perf_counter()
    from flows.cli import app

    meter = Meter()
    _instrument(meter)
    imported = time.perf_counter() - t0
    t1 = time.perf_counter()
    code = app(["daily", "--date", day], standalone_mode=False)  # click returns an Exit's code
    flow_wall = time.perf_counter() - t1
    if code:
        sys.exit(code)
    import resource

    print(
        "MEASURED "
        + json.dumps(
            {
                "seconds": meter.seconds,
                "peak_mb": meter.peak_mb,
                "flow_wall": flow_wall,
                "imports": imported,
                "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        ),
        flush=True,
    )


# -- the driver ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def prefect_server(tmp: Path):
    """``prefect server start`` on 127.0.0.1 with its own PREFECT_HOME; yields its API URL."""
    port = _free_port()
    env = {**os.environ, "PREFECT_HOME": str(tmp / "prefect-server"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    log = open(tmp / "prefect-server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.time() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"prefect server did not start: see {tmp / 'prefect-server.log'}") from None
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def run_day(home: Path, day: date, api_url: str | None, node_tasks: str) -> dict:
    env = {**os.environ, "COUPONFLOW_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env["COUPONFLOW_DBT_NODE_TASKS"] = node_tasks
    # Prefect's default (20 s) for the temporary server to come up is too short on 2 busy cores
    env.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    env.pop("PREFECT_API_URL", None)
    env.pop("PREFECT_HOME", None)  # the home's own prefect/ (DESIGN)
    if api_url:
        env["PREFECT_API_URL"] = api_url
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "_measure", day.isoformat()], env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - t0
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("MEASURED ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"couponflow daily --date {day} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    m = json.loads(line.removeprefix("MEASURED "))
    m["process_wall"] = wall
    return m


def table(title: str, runs: dict[str, dict]) -> str:
    names = list(runs)
    width = max(16, *(len(n) + 2 for n in names))
    lines = [title, f"{'stage':<16}" + "".join(f"{n:>{width}}" for n in names)]
    lines.append(f"{'':<16}" + "".join(f"{'s / peak MB':>{width}}" for _ in names))
    for s in STAGES:
        cells = "".join(f"{runs[n]['seconds'][s]:>{width - 9}.2f} / {runs[n]['peak_mb'][s]:>5.0f}" for n in names)
        lines.append(f"{s:<16}{cells}")
    rows = {
        "stages": lambda m: sum(m["seconds"].values()),
        "Prefect": lambda m: m["flow_wall"] - sum(m["seconds"].values()),
        "flow wall": lambda m: m["flow_wall"],
        "imports": lambda m: m["imports"],
        "process wall": lambda m: m["process_wall"],
    }
    for label, f in rows.items():
        lines.append(f"{label:<16}" + "".join(f"{f(runs[n]):>{width - 9}.2f}{'':>9}" for n in names))
    lines.append(
        f"{'Prefect share':<16}"
        + "".join(
            f"{(runs[n]['flow_wall'] - sum(runs[n]['seconds'].values())) / runs[n]['flow_wall']:>{width - 9}.0%}{'':>9}"
            for n in names
        )
    )
    lines.append(
        f"{'process max RSS':<16}" + "".join(f"{runs[n]['max_rss_mb']:>{width - 9}.0f} MB{'':>6}" for n in names)
    )
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "_measure":
        measure(sys.argv[2])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--date", default="2017-10-30", help="the catch-up's run date D (D+1 is the incremental day)")
    ap.add_argument(
        "--variants",
        default="embedded:true,server:true,server:false",
        help="MODE:NODE_TASKS, comma-separated: MODE embedded or server; NODE_TASKS is COUPONFLOW_DBT_NODE_TASKS "
        "(true, the default of a run: every dbt node a Prefect task; false: dbt's own runner)",
    )
    args = ap.parse_args()
    day = date.fromisoformat(args.date)
    runs: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        for variant in args.variants.split(","):
            mode, node_tasks = variant.split(":")
            name = mode if node_tasks == "true" else f"{mode}/dbt"
            server = prefect_server(tmp) if mode == "server" else contextlib.nullcontext(None)
            with server as url:
                home = tmp / f"home-{mode}-{node_tasks}"
                runs[f"{name} catch-up"] = run_day(home, day, url, node_tasks)
                print(f"{variant}: catch-up to {day} done", file=sys.stderr, flush=True)
                runs[f"{name} incr"] = run_day(home, day + timedelta(days=1), url, node_tasks)
                print(f"{variant}: incremental {day + timedelta(days=1)} done", file=sys.stderr, flush=True)
    print(
        table(
            f"couponflow daily, seconds / peak RSS (MB) per stage: catch-up = fresh home, daily --date {day} "
            f"(lands {(day - date(2017, 1, 1)).days} days first); "
            f"incr = daily --date {day + timedelta(days=1)} after it",
            runs,
        )
    )
    print(f"cores: {os.cpu_count()}, load average before the last run: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
