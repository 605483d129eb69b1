"""End to end: real Prefect flow runs, real dbt builds, real GX, on both storage backends."""

from __future__ import annotations

import io
import json
import urllib.parse
from datetime import UTC, date

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from couponflow.platform import manifest
from couponflow.platform import resources as platform_resources
from couponflow.platform.contract import DAILY_TABLES
from couponflow.platform.landing import GateFailed, landed_days, published_days
from couponflow.platform.schedule import published_dates
from couponflow.platform.storage import LocalStore, open_store
from couponflow.platform.warehouse import query_df
from tests.helpers import corrupted, null_household

pytestmark = pytest.mark.usefixtures("prefect_harness")

CAMPAIGN_1_START = date(2017, 3, 3)  # campaign 1 (Type B, planned size 13)


def _dataset_bytes(store, area: str, day: date) -> dict[str, bytes]:
    return {k: store.get(k) for k in store.list(f"{area}/date={day.isoformat()}/")}


def _read_parquet(store, ds, name) -> pd.DataFrame:
    return pq.read_table(io.BytesIO(manifest.read_object(store, ds, name))).to_pandas()


def test_daily_end_to_end(home_env):
    from flows.daily import daily

    settings, store = home_env, open_store(home_env)
    out = daily(run_date=CAMPAIGN_1_START)

    # the lake holds every day before D and nothing of D or later
    for spec in DAILY_TABLES:
        days = sorted(published_days(store, spec.name))
        assert days[0] == date(2017, 1, 1) and days[-1] == date(2017, 3, 2) and len(days) == 61

    # the campaign: manifest lists exactly the objects, with their sha256
    ds = manifest.read(store, "campaigns/date=2017-03-03")
    assert ds.manifest["model"]["version"] == "v0" and ds.manifest["model"]["cold_start"]
    sends = _read_parquet(store, ds, "sends.parquet")
    assert list(sends.columns) == ["household_id", "campaign_id", "score", "propensity", "arm", "expected_cost"]
    assert 0 < len(sends) <= 13 and set(sends["campaign_id"]) == {1}
    assert sends["expected_cost"].sum() <= settings.budget_per_day
    assert ((sends["propensity"] > 0) & (sends["propensity"] <= 1)).all()
    assert out["sends"] == len(sends) == ds.manifest["summary"]["sends"]
    latest = json.loads(store.get("campaigns/latest.json"))  # written once the date is complete
    assert latest["run_date"] == "2017-03-03" and latest["sends"] == len(sends) and latest["schema_version"] == 1

    # the decision log has every candidate; nobody in control or inactive was sent
    dec = _read_parquet(store, manifest.read(store, "decisions/date=2017-03-03"), "decisions.parquet")
    cands = query_df(settings, "select count(*) as n from marts.scoring_candidates where run_date = date '2017-03-03'")
    assert len(dec) == cands["n"][0] > len(sends)
    sent = dec[dec["chosen"]]
    assert (sent["status"] == "eligible").all() and (dec.loc[dec["status"] == "control", "propensity"] == 0).all()
    assert set(sent["household_id"]) == set(sends["household_id"])

    # report and run record
    report = manifest.read(store, "reports/date=2017-03-03")
    html = manifest.read_object(store, report, "index.html").decode()
    assert "safe to send" in html and "transactions" in html
    record = json.loads(store.get(f"runs/{out['run_id']}.json"))
    assert record["status"] == "success" and set(record["stages"]) >= {"land", "build", "allocate", "publish", "report"}
    # the operators' view in Prefect: the verdict, the gates and a link to the report
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[out["run_id"]])))
    by_key = {a.key: a for a in found}
    assert set(by_key) == {"couponflow-verdict", "couponflow-gates", "couponflow-report"}
    assert (
        "**safe to send" in by_key["couponflow-verdict"].data
        and f"recipients: {len(sends)} of" in by_key["couponflow-verdict"].data
    )
    gate_rows = json.loads(by_key["couponflow-gates"].data)
    assert {r["gate"] for r in gate_rows} == {"raw", "marts", "campaign"} and all(r["status"] for r in gate_rows)
    assert "reports/date=2017-03-03/index.html)" in urllib.parse.unquote(by_key["couponflow-report"].data)

    # a re-run reuses the published date; a forced re-run rebuilds the same bytes
    before = {a: _dataset_bytes(store, a, CAMPAIGN_1_START) for a in ("campaigns", "decisions")}
    again = daily(run_date=CAMPAIGN_1_START)
    assert again["reused"] and again["sends"] == len(sends)
    forced = daily(run_date=CAMPAIGN_1_START, force=True)
    assert not forced["reused"]
    assert {a: _dataset_bytes(store, a, CAMPAIGN_1_START) for a in before} == before


def test_dbt_nodes_are_prefect_tasks_with_their_own_state_and_the_same_campaign(local_home, tmp_path, monkeypatch):
    """A real run's default (``dbt_node_tasks``): prefect-dbt's runner makes every model and test
    that dbt build ran a task of the flow run, in the state dbt gave it; the campaign and the
    decision log are the bytes dbt's own runner gives (test_daily_end_to_end's run of the same day)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from flows.daily import daily

    monkeypatch.setenv("COUPONFLOW_DBT_NODE_TASKS", "true")
    store = open_store(local_home)
    out = daily(run_date=CAMPAIGN_1_START)
    results = json.loads((local_home.dbt_target_dir / "run_results.json").read_text())["results"]
    nodes = {r["unique_id"]: r["status"] for r in results}
    assert len(nodes) > 100 and set(nodes.values()) == {"success", "pass"}
    tasks, offset = [], 0
    with get_client(sync_client=True) as client:
        while page := client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[out["run_id"]])), limit=200, offset=offset
        ):
            tasks, offset = tasks + page, offset + len(page)
    # prefect-dbt names a node's task "<resource type> <name>": each node dbt ran has one, completed
    state = {t.name: t.state.type.value for t in tasks}
    graph = json.loads((local_home.dbt_target_dir / "manifest.json").read_text())["nodes"]
    names = {f"{graph[uid]['resource_type']} {graph[uid]['name']}" for uid in nodes}
    assert {name: state.get(name) for name in names} == dict.fromkeys(names, "COMPLETED")
    assert {"model households", "model scoring_candidates", "test assert_features_point_in_time"} <= names

    monkeypatch.setenv("COUPONFLOW_HOME", str(tmp_path / "plain"))
    monkeypatch.setenv("COUPONFLOW_DBT_NODE_TASKS", "false")
    from couponflow.platform.config import load_settings

    plain = daily(run_date=CAMPAIGN_1_START)
    assert plain["sends"] == out["sends"] > 0
    plain_store = open_store(load_settings())
    for area in ("campaigns", "decisions"):
        assert _dataset_bytes(plain_store, area, CAMPAIGN_1_START) == _dataset_bytes(store, area, CAMPAIGN_1_START)


def test_a_store_lost_during_publish_and_back_inside_the_retry_window_is_ridden_out(tmp_path, monkeypatch):
    """A SeaweedFS server of the test's own is stopped as the publish task starts and started
    again 3 s later: the task fails on the unreachable store, Prefect retries it with backoff
    (flows/retries.py), and the run completes with the bytes of an undisturbed publish."""
    import threading

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    import flows.tasks
    from couponflow.app.publishing import publish_campaign
    from couponflow.platform.config import load_settings
    from flows.daily import daily
    from tests.seaweed import ACCESS_KEY, SECRET_KEY, SeaweedServer

    server = SeaweedServer(tmp_path / "weed")
    server.start()
    restart = threading.Timer(3.0, server.start)
    try:
        server.client().create_bucket(Bucket="lake")
        env = {
            "COUPONFLOW_HOME": str(tmp_path / "home"),
            "COUPONFLOW_STORAGE": "s3",
            "COUPONFLOW_S3_ENDPOINT_URL": server.endpoint,
            "COUPONFLOW_S3_BUCKET": "lake",
            "COUPONFLOW_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "COUPONFLOW_S3_SECRET_ACCESS_KEY": SECRET_KEY,
        }
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        decisions = []

        def publish_as_the_store_goes(store, settings, decision, **kw):
            if not decisions:  # the first attempt: the store goes away under it
                server.stop()
                restart.start()
            decisions.append(decision)
            return publish_campaign(store, settings, decision, **kw)

        monkeypatch.setattr(flows.tasks.publishing, "publish_campaign", publish_as_the_store_goes)
        day = date(2017, 1, 5)
        out = daily(run_date=day)
        restart.join()
        assert len(decisions) >= 2  # the publish task ran again
        with get_client(sync_client=True) as client:
            runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[out["run_id"]])))
        publish_run = next(r for r in runs if r.name.startswith("publish"))
        assert publish_run.run_count == len(decisions) and publish_run.state.is_completed()
        assert all(r.run_count == 1 for r in runs if not r.name.startswith("publish"))  # nothing else failed
        store = open_store(load_settings())
        ref = LocalStore(tmp_path / "ref")
        publish_campaign(ref, load_settings(), decisions[-1])
        for area in ("campaigns", "decisions"):
            assert _dataset_bytes(store, area, day) == _dataset_bytes(ref, area, day) != {}
    finally:
        restart.cancel()
        server.stop()


def test_without_a_date_daily_runs_the_next_unprocessed_day(local_home):
    from flows.daily import daily

    store = open_store(local_home)
    assert daily()["run_date"] == "2017-01-02"
    assert daily()["run_date"] == "2017-01-03"
    assert published_dates(store) == [date(2017, 1, 2), date(2017, 1, 3)]
    ds = manifest.read(store, "campaigns/date=2017-01-03")
    assert ds.rows() == 0 and "no campaign starts" in ds.manifest["summary"]["note"]  # empty but valid


def test_a_scheduled_run_catches_up_every_missed_date_in_order_and_flags_the_late_ones(local_home):
    """Nothing published yet and a run scheduled on 01-04: it decides 01-02, 01-03 and 01-04 in
    order (never skipping a date), landed and built once, the first two flagged late in their gate
    record and report; a second run on the same schedule date finds nothing left to decide."""
    from couponflow.app.report.writer import load_gate_record
    from flows.daily import daily

    store = open_store(local_home)
    out = daily(run_date=date(2017, 1, 4), catch_up=True)
    assert list(out["days"]) == ["2017-01-02", "2017-01-03", "2017-01-04"]
    assert [d["late"] for d in out["days"].values()] == [
        {"decided_on": "2017-01-04", "days": 2},
        {"decided_on": "2017-01-04", "days": 1},
        None,
    ]
    assert published_dates(store) == [date(2017, 1, d) for d in (2, 3, 4)]
    for day, late in ((2, 2), (3, 1), (4, None)):
        run_date = date(2017, 1, day)
        record = load_gate_record(store, run_date)
        assert record["late"] == ({"decided_on": "2017-01-04", "days": late} if late else None)
        page = manifest.read_object(store, manifest.read(store, f"reports/date={run_date}"), "index.html").decode()
        assert ("LATE: decided on 2017-01-04" in page) == bool(late)
        assert record["gates"]["marts"]["ran"] and record["gates"]["campaign"]["ran"]
    again = daily(run_date=date(2017, 1, 4), catch_up=True)
    assert again["days"] == {} and again["run_date"] is None
    assert json.loads(store.get("campaigns/latest.json"))["run_date"] == "2017-01-04"


def test_the_schedule_date_is_the_scheduled_start_in_the_schedule_time_zone(monkeypatch):
    from datetime import datetime

    import prefect.runtime.flow_run

    from flows.daily import late_flag, schedule_date

    # what prefect.runtime says inside a run the scheduler started at 23:30 UTC on 10-29
    scheduled = datetime(2017, 10, 29, 23, 30, tzinfo=UTC)
    monkeypatch.setattr(prefect.runtime.flow_run, "scheduled_start_time", scheduled, raising=False)
    assert schedule_date("UTC") == date(2017, 10, 29)
    assert schedule_date("Europe/Berlin") == date(2017, 10, 30)
    assert late_flag(date(2017, 10, 30), date(2017, 10, 30)) is None
    assert late_flag(date(2017, 10, 29), date(2017, 10, 30)) == {"decided_on": "2017-10-30", "days": 1}


def test_a_gate_failure_stops_the_run_and_a_fixed_rerun_succeeds(local_home, monkeypatch, source):
    from flows.daily import daily

    store = open_store(local_home)
    bad = corrupted(source, "transactions", date(2017, 1, 3), null_household)
    original = platform_resources.get_source
    monkeypatch.setattr(platform_resources, "get_source", lambda settings: bad)
    with pytest.raises(GateFailed, match=r"transactions\.household_id date=2017-01-03"):
        daily(run_date=date(2017, 1, 5))
    assert store.list("campaigns/") == [] and store.list("decisions/") == []
    assert store.exists("quarantine/raw/date=2017-01-03/transactions/validation.json")
    report = json.loads(manifest.read_object(store, manifest.read(store, "reports/date=2017-01-05"), "report.json"))
    assert report["verdict"].startswith("STOPPED")
    runs = [json.loads(store.get(k)) for k in store.list("runs/")]
    assert [r["status"] for r in runs] == ["failed"] and "household_id" in runs[0]["error"]

    monkeypatch.setattr(platform_resources, "get_source", original)  # the upstream file is fixed
    assert daily(run_date=date(2017, 1, 5))["run_date"] == "2017-01-05"
    assert landed_days(store)[-1] == date(2017, 1, 4)


def test_backfill_lands_once_and_decides_every_day(local_home):
    from flows.daily import backfill

    store = open_store(local_home)
    out = backfill(start=date(2017, 3, 1), end=date(2017, 3, 4))
    assert published_dates(store) == [date(2017, 3, d) for d in (1, 2, 3, 4)]
    assert out["days"]["2017-03-03"]["sends"] > 0 and out["days"]["2017-03-02"]["sends"] == 0
    assert landed_days(store)[-1] == date(2017, 3, 3)


def test_cli_daily_prints_where_the_outputs_are(local_home):
    from flows.cli import app

    res = CliRunner().invoke(app, ["daily", "--date", "2017-01-02"])
    assert res.exit_code == 0, res.output
    assert "campaign:" in res.output and "data quality:" in res.output
    assert str(local_home.lake_dir / "reports/date=2017-01-02/index.html") in res.output
    res = CliRunner().invoke(app, ["status"])
    assert res.exit_code == 0 and "published run dates: 1 (latest 2017-01-02)" in res.output
    assert "champion model: v0" in res.output and "daily" in res.output


def test_cli_rejects_bad_input_with_a_clear_message(local_home):
    from flows.cli import app

    res = CliRunner().invoke(app, ["daily", "--date", "30/10/2017"])
    assert res.exit_code == 2 and "YYYY-MM-DD" in res.output
    res = CliRunner().invoke(app, ["daily", "--date", "2019-05-01"])
    assert res.exit_code == 2 and "between 2017-01-02 and 2018-01-02" in res.output
    for share in ("0", "1.5", "-0.2"):  # 0 used to become 0.2 silently, 1.5 was accepted
        res = CliRunner().invoke(app, ["daily", "--date", "2017-10-30", "--replay", "--share", share])
        assert res.exit_code == 2 and "outside (0, 1]" in res.output, res.output
    res = CliRunner().invoke(app, ["daily", "--date", "2017-10-30", "--share", "0.5"])
    assert res.exit_code == 2 and "--share applies to a replay only" in res.output
    res = CliRunner().invoke(app, ["backtest", "--cut", "2017-10-30"])  # a home with nothing landed
    assert res.exit_code == 2 and "no training examples" in res.output and "Catalog Error" not in res.output
    assert not local_home.warehouse_path.exists()  # nothing was created


def test_contact_rules_use_our_own_sends_and_the_do_not_contact_list(local_home):
    """Campaigns 1 and 2 (both Type B) start on 2017-03-03 and 2017-03-08: whoever we sent
    campaign 1 is still in a live Type B campaign on 03-08; listed households are never sent."""
    from flows.daily import backfill

    store = open_store(local_home)
    blocked = [1, 2, 3, 7, 8, 13, 16, 17, 18, 19]
    store.put("config/do_not_contact.csv", ("household_id\n" + "\n".join(map(str, blocked)) + "\n").encode())
    backfill(start=date(2017, 3, 3), end=date(2017, 3, 8))
    first = _read_parquet(store, manifest.read(store, "campaigns/date=2017-03-03"), "sends.parquet")
    log = _read_parquet(store, manifest.read(store, "decisions/date=2017-03-08"), "decisions.parquet")
    again = log[log["household_id"].isin(first["household_id"])]
    assert len(first) > 0 and (again["status"].isin(["live_same_type", "control"])).all()
    assert not again["chosen"].any()
    listed = log[log["household_id"].isin(blocked)]
    assert len(listed) > 0 and (listed["status"].isin(["do_not_contact", "control"])).all()
    assert not listed["chosen"].any()


def test_replay_on_a_fresh_home_lands_the_day_and_keeps_apart(local_home):
    from flows.replay import replay

    store = open_store(local_home)
    out = replay(run_date=CAMPAIGN_1_START, share=0.2)["days"][0]
    assert out["capture"] is None  # campaign 1 runs until 2017-04-09: its redemptions have not landed
    assert 0 < out["sends"] <= 3  # 20% of its 13 real recipients, rounded up
    assert landed_days(store)[-1] == CAMPAIGN_1_START  # the retailer's sends of the day landed with it
    assert store.list("campaigns/") == [] and manifest.read(store, "replay/campaigns/date=2017-03-03")
