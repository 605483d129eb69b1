"""``couponflow gc``: it deletes only what DESIGN's retention allows (old reports, quarantine and run
records, scratch, stale caches), a dry run lists exactly what a real run then deletes, raw
partitions, decision logs, campaigns, gate records and the registry survive byte for byte, and
a daily re-run after gc still reuses the published campaign. On both real stores."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from couponflow.app import report, retention
from couponflow.app.publishing import advance_latest, publish_campaign
from couponflow.platform import manifest
from couponflow.platform.config import Settings, load_settings
from couponflow.platform.contract import RAW_TABLES, SNAPSHOT_TABLES
from couponflow.platform.gate_results import CheckResult, GateResult
from couponflow.platform.storage import LocalStore, ObjectStore
from tests.helpers import handmade_decision

OLD, STOPPED, LATEST, NEWEST = date(2017, 1, 10), date(2017, 2, 1), date(2017, 3, 1), date(2017, 5, 1)
NOW = datetime(2026, 12, 1, tzinfo=UTC)
KEEP = 30  # keep_from = NEWEST - 30 days = 2017-04-01
PROTECTED = ("raw/", "decisions/", "campaigns/", "gates/", "registry/", "config/", "erasures/", "replay/", "segments/")


def _passed(gate: str, table: str, partition: str) -> GateResult:
    return GateResult(gate, table, partition, [CheckResult("expect_something", None, True, "critical", "ok")])


def _fake_report(store: ObjectStore, day: date, digest: str) -> None:
    prefix = f"reports/date={day.isoformat()}"
    manifest.publish(store, f"{prefix}/data-docs", {"index.html": b"<html>docs</html>"}, {"kind": "data-docs"})
    content = {"verdict": "safe to send", "data_dictionary": f"../data-dictionary/{digest}/index.html"}
    manifest.publish(
        store,
        prefix,
        {
            "index.html": b"<html>" + day.isoformat().encode() * 50 + b"</html>",
            "report.json": manifest.to_json_bytes(content),
        },
        {"kind": "report", "run_date": day.isoformat()},
    )


def _run_record(store: ObjectStore, run_id: str, started: datetime) -> None:
    store.put(f"runs/{run_id}.json", manifest.to_json_bytes({"run_id": run_id, "started_at": started.isoformat()}))


def build_lake(store: ObjectStore, settings: Settings) -> None:
    """A lake with everything gc may meet: published days, reports (one of a stopped run),
    dictionaries, quarantine, run records, the registry, and scratch and caches in the home."""
    raw = manifest.parquet_bytes(pa.table({"household_id": [1, 2], "basket_id": [10, 11]}))
    # raw partitions of the contract's schema (empty): the report re-validates the lake's raw rows
    landed = {name: manifest.parquet_bytes(t.schema.empty_table()) for name, t in RAW_TABLES.items()}
    manifest.publish(
        store, "raw/transactions/date=2017-01-09", {"part-0.parquet": landed["transactions"]}, {"kind": "raw"}
    )
    for t in SNAPSHOT_TABLES:
        # every snapshot version stays (raw/ is never gc'd): two versions of each, the first one
        # is what the old dates used
        for version, valid_from in ((1, "2017-01-01"), (2, "2017-01-09")):
            manifest.publish(
                store,
                f"raw/{t.name}/snapshot/version={version}",
                {"part-0.parquet": landed[t.name]},
                {"kind": "raw", "partition": "snapshot", "version": version, "valid_from": valid_from},
            )
    for day in (OLD, LATEST, NEWEST):
        publish_campaign(store, settings, handmade_decision(day, [1, 2, 3]))
        report.publish_gate_record(store, day, {"campaign": [_passed("campaign", "sends", day.isoformat())]})
    publish_campaign(store, settings, handmade_decision(OLD, [1, 2, 3]), replay=True)
    advance_latest(store, LATEST)  # the run of NEWEST died before it moved the pointer
    _fake_report(store, OLD, "b" * 16)
    _fake_report(store, STOPPED, "b" * 16)
    _fake_report(store, LATEST, "b" * 16)
    _fake_report(store, NEWEST, "a" * 16)
    for digest in ("a" * 16, "b" * 16, "c" * 16):
        manifest.publish(store, f"reports/data-dictionary/{digest}", {"index.html": b"<html>dbt</html>"}, {})
    for gate, day, table in (
        ("raw", "2017-01-05", "transactions"),
        ("marts", "2017-04-20", "x"),
        ("raw", "snapshot", "products"),
    ):
        store.put(f"quarantine/{gate}/date={day}/{table}/part-0.parquet", raw)
        store.put(f"quarantine/{gate}/date={day}/{table}/validation.json", b'{"success": false}\n')
    for i in range(12):
        _run_record(store, f"old-{i:02d}", NOW - timedelta(days=200 + i))
    for i in range(2):
        _run_record(store, f"new-{i}", NOW - timedelta(hours=i + 1))
    store.put("registry/versions/v1/model.json", b'{"family": "mlp"}')
    store.put("registry/champion.json", b'{"version": "v1"}')
    store.put("registry/decisions/000001.json", b'{"promoted": true}')
    store.put("config/do_not_contact.csv", b"household_id\n7\n")
    store.put("erasures/salt.json", b'{"salt": "x"}')
    home = settings.home_dir
    (home / "work" / "data-docs").mkdir(parents=True)
    (home / "work" / "data-docs" / "index.html").write_text("scratch")
    (home / "dbt" / "logs").mkdir(parents=True)
    (home / "dbt" / "logs" / "dbt.log").write_text("log " * 100)
    (home / "dbt" / "target").mkdir(parents=True)
    (home / "dbt" / "target" / "manifest.json").write_text("{}")  # the data dictionary's key: kept
    (home / f"failed-run-{'x' * 8}.json").write_bytes(
        manifest.to_json_bytes({"run_id": "x", "started_at": (NOW - timedelta(days=400)).isoformat()})
    )
    cache = settings.lake_cache_dir / "raw/transactions/date=2017-01-09"
    cache.mkdir(parents=True)
    (cache / "part-0.parquet").write_bytes(landed["transactions"])  # a valid copy: kept
    (cache / "validation.json").write_bytes(b"not listed")  # no manifest lists it: stale
    gone = settings.lake_cache_dir / "raw/transactions/date=2016-12-31"
    gone.mkdir(parents=True)
    (gone / "part-0.parquet").write_bytes(b"a copy of nothing published")
    # the raw Data Docs page cache: a page a kept report publishes stays, the others go
    pages = settings.work_dir / retention.RAW_DOCS_CACHE
    pages.mkdir(parents=True)
    (pages / "kept.html").write_bytes(b"<html>" + LATEST.isoformat().encode() * 50 + b"</html>")
    (pages / "old.html").write_bytes(b"<html>" + OLD.isoformat().encode() * 50 + b"</html>")  # its report goes
    # the drop zone's fingerprints: a landed day's and the snapshots' stay, a day never landed goes
    seen = settings.home_dir / retention.DROPZONE_SEEN / "0123456789abcdef"
    for table, day in (("transactions", "2017-01-09"), ("transactions", "2016-12-31"), ("campaigns", "2017-01-09")):
        (seen / table).mkdir(parents=True, exist_ok=True)
        (seen / table / f"{day}.json").write_text('{"part-0.parquet": {"fingerprint": "stat:1", "sha256": "x"}}')
    (seen / "products").mkdir()
    (seen / "products" / "snapshot.json").write_text("{}")
    if isinstance(store, LocalStore):  # a put that crashed before its rename
        (store.root / "reports" / ".tmp-abc-index.html").write_bytes(b"half")


def _lake(store: ObjectStore) -> dict[str, bytes]:
    return {key: store.get(key) for key in store.list("")}


def _home(settings: Settings) -> dict[str, bytes]:
    root = settings.home_dir
    return {str(p): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def lake(store, tmp_path):
    settings = load_settings(home=tmp_path / "home")
    build_lake(store, settings)
    return store, settings


def test_a_dry_run_deletes_nothing_and_lists_exactly_what_gc_deletes(lake):
    store, settings = lake
    before, home_before = _lake(store), _home(settings)
    tmp_leftovers = set(map(str, store.root.rglob(".tmp-*"))) if isinstance(store, LocalStore) else set()
    plan = retention.plan(store, settings, KEEP, now=NOW)
    lines = retention.describe(plan, done=False)
    assert _lake(store) == before and _home(settings) == home_before
    assert all(Path(p).exists() for p in tmp_leftovers)

    listed_keys = {i.where for i in plan.items if not i.in_home}
    listed_files = {i.where for i in plan.items if i.in_home}
    expected_keys = (
        {k for k in before if k.startswith(("reports/date=2017-01-10/", "reports/date=2017-02-01/"))}
        | {k for k in before if k.startswith("reports/data-dictionary/" + "c" * 16)}  # linked by no report
        | {k for k in before if k.startswith("quarantine/raw/date=2017-01-05/")}
        | {f"runs/old-{i:02d}.json" for i in range(8, 12)}  # the newest 10 (home's included) kept, then by age
    )
    assert listed_keys == expected_keys
    home = settings.home_dir
    assert (
        listed_files
        == {
            str(home / "work/data-docs/index.html"),
            str(home / "dbt/logs/dbt.log"),
            str(home / f"failed-run-{'x' * 8}.json"),
            str(settings.lake_cache_dir / "raw/transactions/date=2017-01-09/validation.json"),
            str(settings.lake_cache_dir / "raw/transactions/date=2016-12-31/part-0.parquet"),
            str(settings.work_dir / "raw-docs-cache/old.html"),
            str(home / "dropzone-seen/0123456789abcdef/transactions/2016-12-31.json"),
            str(home / "dropzone-seen/0123456789abcdef/campaigns/2017-01-09.json"),
        }
        | tmp_leftovers
    )
    # sizes are the objects' own
    sizes = {**{k: len(v) for k, v in before.items()}, **{p: len(b) for p, b in home_before.items()}}
    sizes.update({p: Path(p).stat().st_size for p in tmp_leftovers})
    assert {i.where: i.bytes for i in plan.items} == {w: sizes[w] for w in listed_keys | listed_files}
    assert any("reports/date=2017-01-10/" in line for line in lines) and lines[-1].startswith("total: would delete")

    deleted = retention.collect(store, settings, plan)
    after, home_after = _lake(store), _home(settings)
    assert {i.where for i in deleted} == listed_keys | listed_files
    assert set(before) - set(after) == listed_keys and set(after) <= set(before)
    assert set(home_before) - set(home_after) == listed_files - tmp_leftovers
    assert not any(Path(p).exists() for p in tmp_leftovers)
    # a second run finds nothing more to delete
    assert retention.plan(store, settings, KEEP, now=NOW).items == []


def test_gc_never_touches_raw_decisions_campaigns_gates_or_the_registry(lake):
    store, settings = lake
    store.put("segments/cut=2017-07-12/segments.parquet", b"a fit: later dates' segments depend on it")
    store.put("segments/date=2017-04-20/segments.parquet", b"a decided date's segments")
    before = _lake(store)
    kept = {k: v for k, v in before.items() if k.startswith(PROTECTED)}
    assert {k.split("/")[0] for k in kept} == {p.rstrip("/") for p in PROTECTED}
    retention.collect(store, settings, retention.plan(store, settings, 0, now=NOW))  # the most that gc deletes
    after = _lake(store)
    assert {k: after.get(k) for k in kept} == kept  # every object byte-identical
    # the report latest.json points at and the newest one stay; the older ones go
    dates = {k.split("/")[1] for k in after if k.startswith("reports/date=")}
    assert dates == {f"date={LATEST}", f"date={NEWEST}"}
    assert manifest.read(store, f"reports/date={LATEST}") is not None
    # the dictionaries they link stay
    assert {k.split("/")[2] for k in after if k.startswith("reports/data-dictionary/")} == {"a" * 16, "b" * 16}
    assert (settings.dbt_target_dir / "manifest.json").exists()
    assert (settings.lake_cache_dir / "raw/transactions/date=2017-01-09/part-0.parquet").exists()
    # a kept report's cached page and a landed day's or snapshot's fingerprints stay
    assert (settings.work_dir / "raw-docs-cache/kept.html").exists()
    seen = settings.home_dir / "dropzone-seen/0123456789abcdef"
    assert (seen / "transactions/2017-01-09.json").exists() and (seen / "products/snapshot.json").exists()


def test_the_page_cache_name_is_the_reports_own():
    from couponflow.app.report.writer import RAW_DOCS_CACHE

    assert retention.RAW_DOCS_CACHE == RAW_DOCS_CACHE


def test_collect_refuses_a_protected_key_whatever_the_plan_says(lake):
    store, settings = lake
    plan = retention.plan(store, settings, KEEP, now=NOW)
    plan.items.insert(0, retention.Item("reports", "x", "campaigns/date=2017-01-10/sends.parquet", 1))
    with pytest.raises(RuntimeError, match="never collected"):
        retention.collect(store, settings, plan)
    assert store.exists("campaigns/date=2017-01-10/sends.parquet")


@pytest.mark.flow
def test_a_daily_rerun_after_gc_still_reuses_the_published_campaign(prefect_harness, local_home, monkeypatch):
    from flows.daily import daily

    settings = local_home
    store = LocalStore(settings.lake_dir)
    build_lake(store, settings)
    campaign = {k: store.get(k) for k in store.list(f"campaigns/date={OLD}/") + store.list(f"decisions/date={OLD}/")}
    retention.collect(store, settings, retention.plan(store, settings, KEEP, now=NOW))
    assert manifest.read(store, f"reports/date={OLD}") is None  # gc took its report

    out = daily(run_date=OLD)
    assert out["reused"] is True and out["sends"] == 3 and out["model_version"] == "v0"
    assert {k: store.get(k) for k in campaign} == campaign  # the same campaign, byte for byte
    rebuilt = manifest.read(store, f"reports/date={OLD}")
    assert rebuilt is not None  # the report is rebuilt from the gate record gc kept
    content = json.loads(manifest.read_object(store, rebuilt, report.DATA))
    assert content["verdict"].startswith("safe to send") and content["gates"]["summary"]["campaign"] == "pass"


def test_the_gc_command(local_home):
    from flows.cli import app

    settings = local_home
    store = LocalStore(settings.lake_dir)
    build_lake(store, settings)
    before = _lake(store)
    runner = CliRunner()
    dry = runner.invoke(app, ["gc", "--dry-run", "--keep-days", str(KEEP)])
    assert dry.exit_code == 0, dry.output
    assert "would delete" in dry.output and f"reports/date={OLD}/" in dry.output and _lake(store) == before
    bad = runner.invoke(app, ["gc", "--keep-days", "-1"])
    assert bad.exit_code == 2 and "--keep-days -1" in bad.output and _lake(store) == before
    real = runner.invoke(app, ["gc", "--keep-days", str(KEEP)])
    assert real.exit_code == 0, real.output
    assert "deleted" in real.output and manifest.read(store, f"reports/date={OLD}") is None
    assert manifest.read(store, f"campaigns/date={OLD}") is not None


def test_gc_and_forget_take_the_home_lock_and_a_dry_run_does_not(tmp_path, monkeypatch):
    import os
    import subprocess
    import sys

    from flows.cli import app

    home = tmp_path / "home"
    release = tmp_path / "release"
    holder = """
import sys, time
from pathlib import Path
from couponflow.platform.config import load_settings
from couponflow.platform.lock import home_lock
with home_lock(load_settings(), "couponflow daily"):
    print("held", flush=True)
    while not Path(sys.argv[1]).exists():
        time.sleep(0.02)
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUPONFLOW_")}
    env["COUPONFLOW_HOME"] = str(home)
    proc = subprocess.Popen([sys.executable, "-c", holder, str(release)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        monkeypatch.setenv("COUPONFLOW_HOME", str(home))
        monkeypatch.setenv("COUPONFLOW_LOCK_WAIT_S", "0")
        runner = CliRunner()
        for args in (["gc"], ["forget", "--household", "1923"]):
            out = runner.invoke(app, args)
            assert out.exit_code == 4 and f"pid {proc.pid}" in out.output, (args, out.output)
        assert runner.invoke(app, ["gc", "--dry-run"]).exit_code == 0
    finally:
        release.touch()
        proc.wait(timeout=30)
