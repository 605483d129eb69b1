"""Crash-safe to the last byte: a run that dies anywhere, then a re-run, leaves the lake an
undisturbed run leaves, per DESIGN's "same bytes, precisely" (every object and manifest
byte-identical, report and Data Docs included; ``runs/`` and the registry's decision log are
never compared).

One home is landed, built and decided once for the module (the undisturbed run, a real flow
under the session's Prefect harness, deciding 2017-02-08 after a 38-day catch-up: the first
campaign start of 2017, so the shortest window that decides a campaign). Then:

* at function level, the daily flow's body (``flows.daily._daily``, its real tasks) dies at each
  task boundary, and inside publish and report (between objects, before each manifest) through a
  store that fails one write; the build task is a no-op there (it writes no lake object: the
  warehouse is a working copy, DESIGN) and landing finds nothing to land;
* one real SIGKILL of a whole ``couponflow daily`` process (with its temporary Prefect server)
  during its catch-up, as soon as the first day's raw manifest appears, then a re-run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from couponflow.platform.lake import LATEST_CAMPAIGN
from couponflow.platform.landing import landed_days
from couponflow.platform.resources import build_resources
from couponflow.platform.storage import LocalStore
from couponflow.platform.version import code_version
from flows import daily as daily_flow
from flows import tasks

pytestmark = pytest.mark.usefixtures("prefect_harness")

D = date(2017, 2, 8)  # campaign 27 starts (sends > 0); daily(D) lands 38 days first
DAYS = 38
NEVER_COMPARED = ("runs/", "registry/decisions/")
KEPT = "reports/data-dictionary/"  # dbt's docs of the build, published once per content
COUPONFLOW = str(Path(sys.executable).with_name("couponflow"))


class InjectedCrash(RuntimeError):
    """The process "dies" here (never retried: not a store outage)."""


class CrashingStore:
    """The run's store, dying on the first write of ``key``."""

    def __init__(self, store, key: str):
        self._store, self._key = store, key

    def put(self, key: str, data: bytes) -> None:
        if key == self._key:
            raise InjectedCrash(f"killed before writing {key}")
        self._store.put(key, data)

    def __getattr__(self, name):
        return getattr(self._store, name)


def _lake(store) -> dict[str, bytes]:
    return {k: store.get(k) for k in store.list("") if not k.startswith(NEVER_COMPARED)}


def _decided(store) -> dict[str, bytes]:
    """What deciding D wrote (everything but the landed raw partitions)."""
    return {k: v for k, v in _lake(store).items() if not k.startswith("raw/")}


def _restore(store) -> None:
    """Back to the lake before D was decided: the raw partitions (and dbt's docs) only."""
    for key in store.list(""):
        if not key.startswith(("raw/", KEPT)):
            store.delete(key)


def _no_build(res, **kwargs):
    return {"files": None, "dbt": "built by the module's undisturbed run"}


@pytest.fixture(scope="module")
def undisturbed(tmp_path_factory):
    home = tmp_path_factory.mktemp("undisturbed")
    mp = pytest.MonkeyPatch()
    mp.setenv("COUPONFLOW_HOME", str(home))
    mp.setenv("COUPONFLOW_STORAGE", "local")
    # manifests name the checkout's commit, and a shared checkout's HEAD may move while the module
    # runs: every run here (the killed process's too, through its environment) records the package
    # version alone, so that the comparisons are of the same code
    mp.setenv("GIT_DIR", str(home / "no-git"))
    code_version.cache_clear()
    out = daily_flow.daily(run_date=D)
    res = build_resources()
    lake = _lake(res.store)
    assert out["sends"] > 0 and LATEST_CAMPAIGN in lake and len(landed_days(res.store)) == DAYS
    mp.setattr(tasks, "build_warehouse", _no_build)
    yield res, lake
    mp.undo()
    code_version.cache_clear()


def _crash(monkeypatch, name: str) -> None:
    def crashing(*args, **kwargs):
        raise InjectedCrash(f"killed at {name}")

    monkeypatch.setattr(tasks, name, crashing)


# the task boundaries before anything of D is written: the lake holds nothing new but runs/
@pytest.mark.parametrize(
    "stage", ["land", "build_warehouse", "gate_marts", "allocate", "gate_campaign", "record_gates"]
)
def test_a_crash_before_the_gate_record_leaves_nothing_of_the_date(undisturbed, monkeypatch, stage):
    res, _ = undisturbed
    _restore(res.store)
    _crash(monkeypatch, stage)
    with pytest.raises(InjectedCrash):
        daily_flow._daily(res, D, False, False)
    assert not [k for k in _decided(res.store) if not k.startswith(KEPT)]


INSIDE = [  # the write that never happens: between objects, between datasets, before each manifest
    f"campaigns/date={D}/sends.parquet",  # the decision log is published, the sends are not
    f"campaigns/date={D}/manifest.json",  # the sends are written, not committed
    f"reports/date={D}/manifest.json",  # the campaign and the Data Docs are published, the page is not
    LATEST_CAMPAIGN,  # the report is published, the consumers' pointer is not
]


@pytest.mark.parametrize("point", INSIDE)
def test_a_crash_after_the_gate_record_is_finished_by_the_rerun_to_the_same_bytes(undisturbed, point):
    res, lake = undisturbed
    _restore(res.store)
    with pytest.raises(InjectedCrash):
        daily_flow._daily(replace(res, store=CrashingStore(res.store, point)), D, False, False)
    assert _lake(res.store) != lake  # the crash left the date unfinished
    # a campaign already published: the re-run names no date (next_run_date must come back to D)
    published = res.store.exists(f"campaigns/date={D}/manifest.json")
    daily_flow._daily(res, None if published else D, False, False)
    after = _lake(res.store)
    assert sorted(after) == sorted(lake)
    assert [k for k in lake if after[k] != lake[k]] == []


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COUPONFLOW_", "PREFECT_API_URL"))}
    env.update(COUPONFLOW_HOME=str(home), COUPONFLOW_STORAGE="local", COUPONFLOW_DBT_NODE_TASKS="false")
    env["PREFECT_HOME"] = str(home / "prefect")  # the temporary server's own database
    return env


def test_a_daily_process_killed_during_its_catch_up_is_finished_by_the_rerun_to_the_same_bytes(undisturbed, tmp_path):
    _, lake = undisturbed
    home = tmp_path / "killed"
    first_day = home / "lake" / "raw" / "transactions" / "date=2017-01-01" / "manifest.json"
    proc = subprocess.Popen(
        [COUPONFLOW, "daily", "--date", D.isoformat()],
        env=_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the temporary server dies with it
    )
    deadline = time.monotonic() + 300
    while not first_day.exists():
        assert proc.poll() is None, "the run ended before it landed anything"
        assert time.monotonic() < deadline, "no raw partition appeared in 300 s"
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    store = LocalStore(home / "lake")
    assert len(landed_days(store)) < DAYS and not store.list("campaigns/"), "killed after its catch-up"

    rerun = subprocess.run(
        [COUPONFLOW, "daily", "--date", D.isoformat()], env=_env(home), capture_output=True, text=True, timeout=600
    )
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "Traceback" not in rerun.stdout + rerun.stderr  # an ordinary run prints none (GX's Data Docs)
    after = _lake(store)
    assert sorted(after) == sorted(lake)
    assert [k for k in lake if after[k] != lake[k]] == []
    assert any(k.startswith(f"reports/date={D}/data-docs/validations/raw/transactions/") for k in after)
