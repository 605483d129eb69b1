"""The drop zone end to end through the CLI and real Prefect runs: the example a user writes with
``couponflow dropzone example``, an incomplete day that exits 3 and then lands, a daily run that
publishes, a changed file refused by name and taken by ``--reland``; on a local directory and on
SeaweedFS."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from couponflow.platform import manifest
from couponflow.platform.lake import raw_prefix
from couponflow.platform.landing import landed_days
from couponflow.platform.storage import open_store
from couponflow.platform.warehouse import query_df
from flows.cli import app
from tests.seaweed import ACCESS_KEY, SECRET_KEY

pytestmark = [pytest.mark.flow, pytest.mark.usefixtures("prefect_harness")]

START = date(2017, 10, 30)  # campaign 18 starts; the example's last day
DAYS = 7  # 2017-10-24 .. 2017-10-30


def _cli(*args: str):
    _unbind_closed_log_streams()
    return CliRunner().invoke(app, list(args))


def _unbind_closed_log_streams() -> None:
    """Prefect's console handlers keep the stream they were made with: after a first flow run under
    one CliRunner (whose output is closed once it returns), a second run's logging recursed on the
    closed stream. Point such handlers at the current stderr before each command."""
    import logging
    import sys

    loggers = [logging.getLogger()] + [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            stream = getattr(handler, "stream", None)
            if isinstance(handler, logging.StreamHandler) and getattr(stream, "closed", False):
                handler.stream = sys.stderr  # setStream would flush the closed one first
                if hasattr(handler, "console"):
                    handler.console.file = sys.stderr


def _example(to: Path) -> Path:
    res = _cli("dropzone", "example", "--to", str(to), "--days", str(DAYS))
    assert res.exit_code == 0, res.output
    assert f"COUPONFLOW_DROPZONE_URL={to.resolve()} couponflow daily --date {START}" in res.output
    return to


def test_example_incomplete_day_daily_changed_file_and_reland_on_a_local_drop_zone(local_home, tmp_path, monkeypatch):
    drop = _example(tmp_path / "drop")
    res = _cli("dropzone", "example", "--to", str(drop))
    assert res.exit_code == 2 and "is not an empty folder" in res.output  # nothing overwritten
    assert _cli("dropzone", "example", "--to", str(tmp_path / "x"), "--days", "0").exit_code == 2
    monkeypatch.setenv("COUPONFLOW_SOURCE", "dropzone")
    monkeypatch.setenv("COUPONFLOW_DROPZONE_URL", str(drop))
    store = open_store(local_home)

    # the upstream has not finished 2017-10-29: exit 3, the day and table named, nothing decided
    marker = drop / "transactions/date=2017-10-29/_SUCCESS"
    marker.unlink()
    res = _cli("daily", "--date", str(START))
    assert res.exit_code == 3, res.output
    assert "day 2017-10-29 is incomplete, waiting for transactions/date=2017-10-29/_SUCCESS" in res.output
    assert landed_days(store) == [date(2017, 10, d) for d in range(24, 29)]
    assert store.list("campaigns/") == [] and not [k for k in store.list("raw/") if "2017-10-29" in k]
    # a run date past the days present waits for the upstream too (not a bad argument)
    res = _cli("daily", "--date", "2017-11-05")
    assert res.exit_code == 3 and "latest day is 2017-10-30" in res.output, res.output

    # the marker arrives: the run lands the day and publishes the campaign
    marker.write_bytes(b"")
    res = _cli("daily", "--date", str(START))
    assert res.exit_code == 0, res.output
    campaign = manifest.read(store, f"campaigns/date={START}")
    assert campaign is not None and campaign.rows() > 0 and f"run date {START}: {campaign.rows()} sends" in res.output
    sends = pq.read_table(io.BytesIO(manifest.read_object(store, campaign, "sends.parquet")))
    assert set(sends["campaign_id"].to_pylist()) == {18}
    raw = manifest.read(store, raw_prefix("transactions", date(2017, 10, 29)))
    assert raw.manifest["source"] == "dropzone" and raw.manifest["drop_files"]
    published = {k: store.get(k) for k in store.list(f"campaigns/date={START}/")}

    # the upstream rewrites a landed day: refused by name before anything lands
    changed = drop / "transactions/date=2017-10-25/part-0.parquet"
    table = pq.read_table(changed)
    pq.write_table(table.slice(0, table.num_rows - 100), changed)
    res = _cli("daily", "--date", "2017-10-31")
    assert res.exit_code == 1, res.output
    assert "drop zone file transactions/date=2017-10-25/part-0.parquet changed" in res.output
    assert "--reland 2017-10-25" in res.output and START not in landed_days(store)

    # --reland is checked before anything starts, then re-lands the day and rebuilds in full
    for bad, why in (("2017-10-31", "that day is not landed"), ("2017-10-24x", "is not a date")):
        res = _cli("daily", "--date", "2017-10-31", "--reland", bad)
        assert res.exit_code == 2 and why in res.output, res.output
    res = _cli("daily", "--date", "2017-10-31", "--reland", "2017-10-25")
    assert res.exit_code == 0, res.output
    assert "re-landed 2017-10-25 from the drop zone; the warehouse was rebuilt in full" in res.output
    relanded = manifest.read(store, raw_prefix("transactions", date(2017, 10, 25)))
    assert relanded.rows() == table.num_rows - 100
    built = query_df(
        local_home, "select count(*) as n from staging.stg_transactions where landed_date = date '2017-10-25'"
    )
    assert int(built["n"][0]) == table.num_rows - 100  # the warehouse holds the relanded day
    assert {k: store.get(k) for k in store.list(f"campaigns/date={START}/")} == published  # not re-decided
    record = json.loads(store.get(f"runs/{_run_id(res.output)}.json"))
    assert record["parameters"]["reland"] == "2017-10-25" and "reland" in record["stages"]
    assert not (local_home.home_dir / "warehouse.full-build-needed").exists()  # the full build cleared it


def _run_id(output: str) -> str:
    line = next(line for line in output.splitlines() if line.startswith("run record:"))
    return Path(line.split()[-1]).stem


def test_a_daily_run_on_a_seaweedfs_drop_zone_publishes(local_home, tmp_path, monkeypatch, seaweed, s3_bucket):
    drop = _example(tmp_path / "drop")
    client = seaweed["client"]
    for path in sorted(p for p in drop.rglob("*") if p.is_file()):
        client.put_object(Bucket=s3_bucket, Key=f"upstream/{path.relative_to(drop).as_posix()}", Body=path.read_bytes())
    for var, value in {
        "COUPONFLOW_SOURCE": "dropzone",
        "COUPONFLOW_DROPZONE_URL": f"s3://{s3_bucket}/upstream",
        "COUPONFLOW_DROPZONE_ENDPOINT_URL": seaweed["endpoint"],
        "COUPONFLOW_DROPZONE_ACCESS_KEY_ID": ACCESS_KEY,
        "COUPONFLOW_DROPZONE_SECRET_ACCESS_KEY": SECRET_KEY,
    }.items():
        monkeypatch.setenv(var, value)
    res = _cli("daily", "--date", str(START))
    assert res.exit_code == 0, res.output
    assert SECRET_KEY not in res.output
    store = open_store(local_home)
    assert landed_days(store) == [date(2017, 10, d) for d in range(24, 30)]
    assert manifest.read(store, f"campaigns/date={START}").rows() > 0
    # a wrong key is one line naming the drop zone's variables, exit 2, before anything starts
    monkeypatch.setenv("COUPONFLOW_DROPZONE_SECRET_ACCESS_KEY", "wrong-secret-123")
    res = _cli("daily", "--date", "2017-10-31")
    assert res.exit_code == 2 and "COUPONFLOW_DROPZONE_ACCESS_KEY_ID" in res.output, res.output
    assert "wrong-secret-123" not in res.output
