"""What a consumer of the lake may rely on: a schema version in every manifest,
``campaigns/latest.json`` pointing at the latest completely published date (never back, never at
a half-published one), and ``couponflow read`` printing or exporting a day's sends."""

from __future__ import annotations

import io
import json
from datetime import date

import pandas as pd
import pyarrow.parquet as pq
from typer.testing import CliRunner

from couponflow.app.publishing import (
    DECISIONS_SCHEMA,
    SENDS_SCHEMA,
    advance_latest,
    latest_campaign,
    publish_campaign,
)
from couponflow.platform import manifest
from couponflow.platform.config import load_settings
from couponflow.platform.storage import LocalStore
from models.decision import CampaignDecision

D1, D2 = date(2017, 3, 3), date(2017, 3, 10)


def _decision(day: date, households: list[int]) -> CampaignDecision:
    sends = pd.DataFrame(
        {
            "household_id": households,
            "campaign_id": [1] * len(households),
            "score": [0.5] * len(households),
            "propensity": [1.0] * len(households),
            "arm": ["exploit"] * len(households),
            "expected_cost": [1.0] * len(households),
        }
    )
    decisions = pd.DataFrame({name: [] for name in DECISIONS_SCHEMA.names})
    decisions = pd.concat([decisions, sends.assign(run_date=day, campaign_type="TypeA", status="eligible")])
    decisions = decisions.assign(chosen=True, p_selected=1.0)[DECISIONS_SCHEMA.names]
    return CampaignDecision(day, sends[SENDS_SCHEMA.names], decisions, {"sends": len(sends)}, {"version": "v0"})


def test_every_manifest_says_its_schema_version(tmp_path):
    store = LocalStore(tmp_path / "lake")
    ds = manifest.publish(store, "x/date=2017-01-01", {"a.bin": b"1"}, {"kind": "test"})
    assert ds.manifest["schema_version"] == manifest.SCHEMA_VERSION == 1
    assert json.loads(store.get("x/date=2017-01-01/manifest.json"))["schema_version"] == 1


def test_latest_points_at_the_latest_complete_date_and_never_moves_back(tmp_path):
    settings = load_settings(home=tmp_path / "home")
    store = LocalStore(tmp_path / "lake")
    publish_campaign(store, settings, _decision(D2, [1, 2, 3]))
    assert latest_campaign(store) is None  # published, but the run has not reached its end yet
    pointer = advance_latest(store, D2)
    assert pointer == latest_campaign(store)
    assert pointer["run_date"] == "2017-03-10" and pointer["sends"] == 3 and pointer["schema_version"] == 1
    assert pointer["manifest_sha256"] == manifest.sha256(store.get("campaigns/date=2017-03-10/manifest.json"))
    before = store.get("campaigns/latest.json")
    publish_campaign(store, settings, _decision(D1, [4]))  # a backfill of an older date
    assert advance_latest(store, D1)["run_date"] == "2017-03-10"
    assert store.get("campaigns/latest.json") == before
    # a forced re-publish of the latest date moves the pointer to its new manifest
    publish_campaign(store, settings, _decision(D2, [1, 2]), force=True)
    assert advance_latest(store, D2)["sends"] == 2
    # a date whose campaign is not (or no longer) published is never pointed at
    manifest.withdraw(store, "campaigns/date=2017-03-03")
    try:
        advance_latest(store, D1)
    except ValueError as exc:
        assert "2017-03-03 has no published campaign" in str(exc)
    else:
        raise AssertionError("pointed at an unpublished date")


def test_read_prints_or_exports_a_day_s_sends(tmp_path, monkeypatch):
    from flows.cli import app

    home = tmp_path / "home"
    monkeypatch.setenv("COUPONFLOW_HOME", str(home))
    monkeypatch.setenv("COUPONFLOW_STORAGE", "local")
    settings = load_settings()
    store = LocalStore(settings.lake_dir)
    runner = CliRunner()
    empty = runner.invoke(app, ["read"])
    assert empty.exit_code == 2 and "no published campaign yet" in empty.output
    publish_campaign(store, settings, _decision(D1, [4, 5]))
    publish_campaign(store, settings, _decision(D2, [1, 2, 3]))
    advance_latest(store, D2)

    latest = runner.invoke(app, ["read"])
    assert latest.exit_code == 0, latest.output
    frame = pd.read_csv(io.StringIO(latest.output))
    assert list(frame.columns) == SENDS_SCHEMA.names and frame["household_id"].tolist() == [1, 2, 3]
    out = tmp_path / "d1.parquet"
    exported = runner.invoke(app, ["read", "--date", "2017-03-03", "--out", str(out)])
    assert exported.exit_code == 0 and "2 sends written" in exported.output
    assert out.read_bytes() == store.get("campaigns/date=2017-03-03/sends.parquet")  # the published bytes
    assert pq.read_table(out).column("household_id").to_pylist() == [4, 5]
    assert runner.invoke(app, ["read", "--date", "2017-03-03", "--out", str(tmp_path / "d1.csv")]).exit_code == 0
    assert pd.read_csv(tmp_path / "d1.csv")["household_id"].tolist() == [4, 5]

    missing = runner.invoke(app, ["read", "--date", "2017-03-04"])
    assert missing.exit_code == 2 and len(missing.output.strip().splitlines()) == 1
    assert "no campaign is published for 2017-03-04" in missing.output
    assert runner.invoke(app, ["read", "--out", str(tmp_path / "x.txt")]).exit_code == 2
    # bytes that do not match their manifest are refused, not printed
    store.put("campaigns/date=2017-03-10/sends.parquet", b"not the published bytes")
    broken = runner.invoke(app, ["read"])
    assert broken.exit_code == 1 and "--force" in broken.output
