"""Alerts through apprise to a real HTTP receiver on 127.0.0.1 (tests/receiver.py): the notifier
at function level, the flows' on_failure hook on real Prefect flow runs, and one real daily run
stopped by its raw gate (then fixed)."""

from __future__ import annotations

import json
import logging
import time
from datetime import date
from pathlib import Path

import pytest
from prefect import flow
from typer.testing import CliRunner

from couponflow.platform import resources as platform_resources
from couponflow.platform.alerts import Alert, monitor_breached, send
from couponflow.platform.config import load_settings
from couponflow.platform.gate_results import CheckResult, GateFailed, GateResult
from flows.alerts import alert_on_failure
from tests.helpers import corrupted, null_household
from tests.receiver import AlertReceiver
from tests.seaweed import free_port

pytestmark = pytest.mark.usefixtures("prefect_harness")

TOKEN = "aLeRt-TOKEN-7f3a9c21"  # what an alert URL's path may carry: a secret
S3_SECRET = "sEcReT-alerts-Q9w8e7r6"


@pytest.fixture
def receiver():
    with AlertReceiver() as r:
        yield r


def _gate_failure() -> GateFailed:
    check = CheckResult(
        "expect_column_values_to_not_be_null", "household_id", False, "critical", "1 null", "re-export the file"
    )
    exc = GateFailed([GateResult("raw", "transactions", "2017-01-03", [check])])
    exc.add_note("couponflow: daily failed in stage land")  # as flows/recording.py notes it
    return exc


def test_send_posts_one_notification_without_a_secret(local_home, monkeypatch, receiver):
    monkeypatch.setenv("COUPONFLOW_ALERT_URL", receiver.url(f"/hook/{TOKEN}"))
    monkeypatch.setenv("COUPONFLOW_S3_ACCESS_KEY_ID", "key-id-alerts-123")
    monkeypatch.setenv("COUPONFLOW_S3_SECRET_ACCESS_KEY", S3_SECRET)
    settings = load_settings()
    alert = Alert(
        title="couponflow daily 2017-01-05: failed in stage publish",
        what=f"PUT refused for key-id-alerts-123 / {S3_SECRET} at {receiver.url(f'/hook/{TOKEN}')}",
        fix="check the keys",
        flow="daily",
        run_date="2017-01-05",
        links={"report": "/h/lake/reports/date=2017-01-05/index.html"},
    )
    assert send(settings, alert)
    (post,) = receiver.posts
    assert post["path"] == f"/hook/{TOKEN}" and post["json"]["type"] == "failure"
    assert post["json"]["title"] == alert.title
    body = post["json"]["message"]
    lines = body.splitlines()
    assert lines[:3] == ["flow: daily", "run date: 2017-01-05", "what failed: PUT refused for *** / *** at ***"]
    assert "report: /h/lake/reports/date=2017-01-05/index.html" in body
    for secret in (TOKEN, S3_SECRET, "key-id-alerts-123"):
        assert secret.encode() not in post["raw"]


def test_without_an_alert_url_nothing_is_sent_and_nothing_said(local_home, receiver):
    said: list[str] = []
    assert not send(load_settings(), Alert("t", "w", "f"), warn=said.append)
    assert not monitor_breached(load_settings(), monitor="PSI of spend_90d", value=0.4, threshold=0.2)
    assert receiver.posts == [] and said == []


def test_an_unreachable_receiver_is_one_warning_line_that_names_no_url(local_home, monkeypatch, caplog):
    url = f"json://127.0.0.1:{free_port()}/hook/{TOKEN}"  # nothing listens there
    monkeypatch.setenv("COUPONFLOW_ALERT_URL", url)
    said: list[str] = []
    with caplog.at_level(logging.DEBUG):
        assert not send(load_settings(), Alert("couponflow daily: failed", "w", "f"), warn=said.append)
    (line,) = said
    assert "not delivered" in line and "couponflow daily: failed" in line
    assert TOKEN not in line and TOKEN not in caplog.text  # apprise's own lines (with the URL) are silenced
    monkeypatch.setenv("COUPONFLOW_ALERT_URL", "no-such-scheme://x")
    said.clear()
    assert not send(load_settings(), Alert("t", "w", "f"), warn=said.append)
    assert len(said) == 1 and "not a URL apprise knows" in said[0]


def test_a_monitor_past_its_threshold_alerts(local_home, monkeypatch, receiver):
    monkeypatch.setenv("COUPONFLOW_ALERT_URL", receiver.url())
    assert monitor_breached(
        load_settings(),
        monitor="PSI of feature spend_90d",
        value=0.31,
        threshold=0.2,
        run_date="2017-10-30",
        fix="inspect the upstream feed; retrain if the shift is real",
        report="/h/lake/reports/date=2017-10-30/index.html",
    )
    (post,) = receiver.posts
    assert post["json"]["title"] == "couponflow monitor past its threshold: PSI of feature spend_90d (2017-10-30)"
    body = post["json"]["message"]
    assert "what failed: PSI of feature spend_90d is 0.31, past its threshold 0.2" in body
    assert "fix: inspect the upstream feed" in body and "report: /h/lake/reports/date=2017-10-30/index.html" in body


@flow(name="daily", on_failure=[alert_on_failure])
def _stopped_daily(run_date: date) -> None:
    raise _gate_failure()


@flow(name="train", on_failure=[alert_on_failure])
def _train(fail: bool) -> str:
    if fail:
        raise RuntimeError("the warehouse is gone")
    return "done"


def test_the_hook_alerts_a_failed_flow_run_once_and_a_good_one_never(local_home, monkeypatch, receiver):
    monkeypatch.setenv("COUPONFLOW_ALERT_URL", receiver.url(f"/hook/{TOKEN}"))
    with pytest.raises(GateFailed):
        _stopped_daily(run_date=date(2017, 1, 5))
    assert _train(fail=False) == "done"
    (post,) = receiver.posts
    assert post["json"]["title"] == "couponflow daily 2017-01-05: the raw gate stopped the run"
    body = post["json"]["message"].splitlines()
    assert body[:3] == ["flow: daily", "run date: 2017-01-05", "failed stage: land"]
    assert body[3].startswith("what failed: raw gate FAILED on transactions.household_id date=2017-01-03")
    assert body[4] == "fix: re-export the file"
    assert f"report: {local_home.lake_dir}/reports/date=2017-01-05/index.html" in body
    with pytest.raises(RuntimeError):
        _train(fail=True)
    assert len(receiver.posts) == 2
    title, body = receiver.posts[1]["json"]["title"], receiver.posts[1]["json"]["message"]
    assert title == "couponflow train: failed before its first stage"
    assert "failed stage: none (it failed before its first stage)" in body
    assert "what failed: the warehouse is gone" in body and "`couponflow train`" in body


def test_an_unreachable_alert_url_leaves_the_run_and_its_exit_code_as_they_were(local_home, monkeypatch):
    from flows import cli

    monkeypatch.setenv("COUPONFLOW_ALERT_URL", f"json://127.0.0.1:{free_port()}/hook/{TOKEN}")
    assert _train(fail=False) == "done"
    state = _stopped_daily(run_date=date(2017, 1, 5), return_state=True)
    assert state.is_failed() and "raw gate FAILED on transactions.household_id" in state.message
    with pytest.raises(GateFailed) as exc:
        _stopped_daily(run_date=date(2017, 1, 5))
    assert exc.value.gate == "raw"  # the run's own error, not the alert's
    with pytest.raises(cli.typer.Exit) as code:
        cli._fail(exc.value)
    assert code.value.exit_code == 1


def test_a_daily_run_stopped_by_a_gate_alerts_once_and_its_fixed_rerun_alerts_nothing(
    local_home, monkeypatch, source, receiver
):
    from flows import cli

    monkeypatch.setenv("COUPONFLOW_ALERT_URL", receiver.url(f"/hook/{TOKEN}"))
    original = platform_resources.get_source
    bad = corrupted(source, "transactions", date(2017, 1, 3), null_household)
    monkeypatch.setattr(platform_resources, "get_source", lambda settings: bad)
    res = CliRunner().invoke(cli.app, ["daily", "--date", "2017-01-05"])
    assert res.exit_code == 1
    (line,) = res.output.strip().splitlines()  # the run's one line, as without alerts
    assert "raw gate FAILED on transactions.household_id date=2017-01-03" in line
    (post,) = receiver.posts
    assert post["json"]["title"] == "couponflow daily 2017-01-05: the raw gate stopped the run"
    body = post["json"]["message"]
    assert "what failed: raw gate FAILED on transactions.household_id date=2017-01-03" in body
    assert "failed stage: land" in body
    assert f"report: {local_home.lake_dir}/reports/date=2017-01-05/index.html" in body
    (record,) = [line for line in body.splitlines() if line.startswith("run record: ")]
    assert json.loads(Path(record.removeprefix("run record: ")).read_text())["failed_stage"] == "land"
    assert TOKEN.encode() not in post["raw"]

    monkeypatch.setattr(platform_resources, "get_source", original)  # the upstream file is fixed
    res = CliRunner().invoke(cli.app, ["daily", "--date", "2017-01-05"])
    assert res.exit_code == 0, res.output
    assert len(receiver.posts) == 1  # a good run sends nothing


@flow(name="daily")
def _crashing_daily() -> None:
    raise KeyboardInterrupt  # the engine reports Crashed, as for a killed process; no hook runs


def _posts_after(receiver: AlertReceiver, n: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while len(receiver.posts) < n and time.monotonic() < deadline:
        time.sleep(0.2)
    return len(receiver.posts)


def test_under_a_server_a_crashed_run_alerts_through_the_automation_and_a_failed_one_only_once(
    local_home, monkeypatch, receiver
):
    """flows/deployments.py on the harness's real Prefect server (its trigger and action services
    run): a crashed run, which runs no hook, is notified by the automation through its block; a
    failed run only by its hook (one alert, never two); the URL lives only in the block's secret."""
    from prefect.automations import Automation
    from prefect.blocks.notifications import SlackWebhook

    from flows.deployments import ALERT_AUTOMATION, ALERT_BLOCK, ALERTED_FLOWS, ensure_alert_automation

    url = receiver.url(f"/hook/{TOKEN}")
    monkeypatch.setenv("COUPONFLOW_ALERT_URL", url)
    try:
        first = ensure_alert_automation(load_settings())
        second = ensure_alert_automation(load_settings())  # replaced, never doubled
        found = Automation.read(name=ALERT_AUTOMATION)
        assert found.id == second != first
        trigger = found.trigger.model_dump(mode="json")
        assert trigger["expect"] == ["prefect.flow-run.Crashed"] and trigger["posture"] == "Reactive"
        assert sorted(trigger["match_related"]["prefect.resource.name"]) == sorted(ALERTED_FLOWS)
        (action,) = found.actions
        assert action.type == "send-notification" and TOKEN not in found.model_dump_json()
        block = SlackWebhook.load(ALERT_BLOCK)
        assert block.url.get_secret_value() == url and action.block_document_id == block._block_document_id

        time.sleep(1)  # the trigger service picks the new automation up
        with pytest.raises(KeyboardInterrupt):
            _crashing_daily()
        assert _posts_after(receiver, 1, timeout=30) == 1
        crash = receiver.posts[0]
        assert crash["json"]["title"] == "couponflow daily: the run crashed" and crash["json"]["type"] == "failure"
        assert "what failed: the run crashed: Execution was aborted" in crash["json"]["message"]
        assert TOKEN.encode() not in crash["raw"]

        with pytest.raises(GateFailed):
            _stopped_daily(run_date=date(2017, 1, 5))
        assert _posts_after(receiver, 3, timeout=4) == 2  # the hook's, and no second from the server
        assert receiver.posts[1]["json"]["title"] == "couponflow daily 2017-01-05: the raw gate stopped the run"
    finally:
        monkeypatch.delenv("COUPONFLOW_ALERT_URL")
        assert ensure_alert_automation(load_settings()) is None  # removed without a URL
    with pytest.raises(ValueError, match="not found"):
        Automation.read(name=ALERT_AUTOMATION)
