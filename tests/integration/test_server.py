"""Server mode, for real: ``prefect server start`` on 127.0.0.1 with its own database, the
deployments of ``prefect.yaml`` deployed to a process work pool, ``couponflow serve`` serving its
deployments, runs triggered and checked (states, logs) through the client, and schedules that
outlive the serving process (``pause_on_shutdown=False``)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from flows.deployments import ALERT_AUTOMATION

ROOT = Path(__file__).resolve().parents[2]
PREFECT = Path(sys.executable).parent / "prefect"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except Exception:  # noqa: BLE001 - not up yet
            value = None
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"{what} within {timeout:.0f} s")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@pytest.fixture
def server(tmp_path):
    """A real Prefect server of the test's own: its home and SQLite database in tmp_path."""
    port = _free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-server"),
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{tmp_path / 'prefect.db'}",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
    }
    env.pop("PREFECT_API_URL", None)
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-services"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    api = f"http://127.0.0.1:{port}/api"
    try:
        _wait(lambda: urllib.request.urlopen(f"{api}/health", timeout=2).status == 200, 180, "the server answers")
        yield api
    finally:
        _stop(proc)
        log.close()


@contextlib.contextmanager
def client_of(api: str):
    """A client of ``api``: this process read its Prefect settings at import, so they are set for the call."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api}), get_client(sync_client=True) as client:
        yield client


def test_deployments_served_and_deployed_run_under_a_real_server(server, tmp_path, monkeypatch):
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    home = tmp_path / "home"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("COUPONFLOW_")},
        "PREFECT_API_URL": server,
        "PREFECT_HOME": str(tmp_path / "prefect-client"),
        "COUPONFLOW_HOME": str(home),
        "COUPONFLOW_TIMEZONE": "Europe/Berlin",
        "COUPONFLOW_DBT_NODE_TASKS": "false",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("PREFECT_API_DATABASE_CONNECTION_URL", raising=False)

    # prefect.yaml, deployed to a process work pool
    subprocess.run(
        [str(PREFECT), "work-pool", "create", "couponflow", "--type", "process"],
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    deploy = subprocess.run(
        [str(PREFECT), "--no-prompt", "deploy", "--all"], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert deploy.returncode == 0, deploy.stdout[-2000:] + deploy.stderr[-2000:]

    serve_log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 - closed below
    serving = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "serve"],
        # serve registers the crashed-run alert automation on the server (nothing listens on port 9)
        env={**env, "COUPONFLOW_ALERT_URL": "json://127.0.0.1:9/alerts"},
        cwd=ROOT,
        stdout=serve_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        with client_of(server) as client:
            worker = {d.name: d for d in client.read_deployments() if d.name.endswith("-worker")}
            assert set(worker) == {"daily-worker", "backfill-worker", "train-worker"}, deploy.stdout[-3000:]
            assert {worker["daily-worker"].work_pool_name} == {"couponflow"}
            names = ("daily/daily", "backfill/backfill", "train/train")
            _wait(lambda: all(client.read_deployment_by_name(n) for n in names), 180, "serve registers its deployments")
            daily = client.read_deployment_by_name("daily/daily")
            (automation,) = client.read_automations_by_name(ALERT_AUTOMATION)
            assert automation.enabled and "prefect.flow-run.Crashed" in automation.trigger.expect
            schedule = daily.schedules[0].schedule
            assert (schedule.cron, schedule.timezone) == ("0 6 * * *", "Europe/Berlin")
            assert client.read_deployment_by_name("backfill/backfill").schedules == []

            run = client.create_flow_run_from_deployment(daily.id, parameters={"run_date": "2017-01-05"})
            bad = client.create_flow_run_from_deployment(daily.id, parameters={"run_date": "2030-01-01"})
            final = {}
            for flow_run in (run, bad):
                final[flow_run.id] = _wait(
                    lambda fr=flow_run: (s := client.read_flow_run(fr.id).state) and s.is_final() and s,
                    600,
                    f"flow run {flow_run.name} ends",
                )
            assert final[run.id].is_completed(), final[run.id]
            assert final[bad.id].is_failed() and "2030-01-01" in (final[bad.id].message or "")
            logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))
            assert any("2017-01-05" in entry.message for entry in logs) and any("dbt build" in e.message for e in logs)
            # the deployment's own parameter: a scheduled daily catches up every missed date
            assert client.read_flow_run(run.id).parameters == {"run_date": "2017-01-05", "catch_up": True}
        for day in ("2017-01-02", "2017-01-03", "2017-01-04", "2017-01-05"):
            assert (home / "lake" / "campaigns" / f"date={day}" / "manifest.json").exists()

        _stop(serving)  # schedules survive the serving process
        with client_of(server) as client:
            assert client.read_deployment_by_name("daily/daily").paused is False
            assert client.read_deployment_by_name("train/train").paused is False
    finally:
        _stop(serving)
        serve_log.close()
