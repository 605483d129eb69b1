"""The report's Monitoring content at function level (couponflow/app/report/monitoring.py): drift
rows and their status, the trend of closed campaigns, budget use, the breaches, and the page."""

from __future__ import annotations

from datetime import date
from math import log

import numpy as np
import pandas as pd
import pytest

from couponflow.app.report.monitoring import (
    MonitoringInputs,
    breaches,
    budget_content,
    drift_content,
    monitoring_content,
    performance_trend,
)
from couponflow.app.report.render import render_html
from models.drift import profile_frame

TRAIN = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0] * 25, "b": [0.0, 1.0] * 50})
PROFILE = profile_frame(TRAIN, ["a", "b"], score=np.linspace(0.01, 0.2, 100), source={"version": "v1"})


def _inputs(cands: pd.DataFrame | None, scores: np.ndarray | None = None, **kw) -> MonitoringInputs:
    return MonitoringInputs("v1", kw.pop("profile", PROFILE), "v1: its training rows", cands, scores, **kw)


def test_drift_rows_carry_psi_and_status_with_the_score_first():
    # a: ten quantiles of 1..4 (25 rows each) cut at 1, 2, 3, 4, just above 4: bins [1,2) [2,3) [3,4)
    # and [4, 4] hold .25 each in training; today .5 .5 0 0 -> by hand, with the floor on the empty two
    cands = pd.DataFrame({"a": [1.0, 2.0] * 50, "b": [0.0, 1.0] * 50})
    d = drift_content(_inputs(cands, np.linspace(0.01, 0.2, 100)))
    assert [r["feature"] for r in d["rows"]] == ["score", "a", "b"]
    rows = {r["feature"]: r for r in d["rows"]}
    by_hand = 2 * (0.5 - 0.25) * log(0.5 / 0.25) + 2 * (1e-4 - 0.25) * log(1e-4 / 0.25)
    assert rows["a"]["psi"] == pytest.approx(by_hand, abs=1e-6) and rows["a"]["status"] == "alert"
    assert rows["b"] == {"feature": "b", "psi": 0.0, "status": "ok"}
    assert rows["score"]["psi"] == 0.0
    assert d["counts"] == {"ok": 2, "warn": 0, "alert": 1, "absent": 0, "offer": 0} and d["candidates"] == 100
    assert breaches(d) == [{"monitor": "PSI of feature a", "value": rows["a"]["psi"], "threshold": 0.25}]


def test_warn_and_alert_thresholds_come_from_the_inputs():
    cands = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0] * 20 + [1.0] * 20, "b": [0.0, 1.0] * 50})
    psi_a = drift_content(_inputs(cands))["rows"]
    a = next(r for r in psi_a if r["feature"] == "a")["psi"]
    assert 0 < a < 0.25
    assert (
        next(r for r in drift_content(_inputs(cands, warn=a / 2, alert=a * 2))["rows"] if r["feature"] == "a")["status"]
        == "warn"
    )
    d = drift_content(_inputs(cands, warn=a / 4, alert=a / 2))
    assert breaches(d) == [{"monitor": "PSI of feature a", "value": a, "threshold": a / 2}]
    # no scores given and a profiled feature the frame lacks: absent, never an alert
    d = drift_content(_inputs(cands.drop(columns="b")))
    rows = {r["feature"]: r for r in d["rows"]}
    assert rows["b"]["status"] == rows["score"]["status"] == "absent" and rows["b"]["psi"] is None
    assert [b["monitor"] for b in breaches(d)] == []


def test_facts_of_the_offer_are_shown_and_never_alert():
    train = TRAIN.assign(planned_size=[100.0, 200.0] * 50)
    profile = profile_frame(train, ["a", "planned_size"])
    d = drift_content(_inputs(TRAIN.assign(planned_size=5000.0), profile=profile))
    rows = {r["feature"]: r for r in d["rows"]}
    assert rows["planned_size"]["status"] == "offer" and rows["planned_size"]["psi"] > 1
    assert breaches(d) == [] and d["counts"]["offer"] == 1


def test_no_profile_or_no_candidates_says_why():
    d = drift_content(_inputs(None, profile=None))
    assert d["rows"] == [] and d["note"].startswith("no profile to compare with")
    d = drift_content(_inputs(pd.DataFrame(columns=["a", "b"])))
    assert d["rows"] == [] and "no candidates on this date" in d["note"] and breaches(d) == []


def test_the_performance_trend_is_oldest_first_with_calibration_of_the_sends():
    closed = [
        {"campaign_id": 18, "mode": "live", "decided_on": "2017-10-30", "window_end": "2017-12-24", "model": "v1"}
        | {"auc": 0.7, "sends": 100, "expected_redemptions": 12.0, "redemption_rate": 0.08},
        {"campaign_id": 13, "mode": "live", "decided_on": "2017-08-08", "window_end": "2017-09-24", "model": "v0"}
        | {"auc": None, "sends": 0, "expected_redemptions": 0.0, "redemption_rate": None},
    ]
    trend = performance_trend(closed)
    assert [r["campaign_id"] for r in trend] == [13, 18]
    assert trend[1]["predicted_rate"] == pytest.approx(0.12) and trend[1]["realised_rate"] == 0.08
    assert trend[1]["predicted_over_realised"] == pytest.approx(1.5) and trend[1]["auc"] == 0.7
    assert trend[0]["predicted_rate"] is None and trend[0]["predicted_over_realised"] is None
    assert performance_trend(None) == []


def test_budget_use_skips_dates_without_candidates_and_sums_the_rest():
    entries = [
        {"run_date": "2017-10-30", "campaigns": 1, "candidates": 50, "sends": 40, "budget": 250.0}
        | {"expected_cost": 200.0},
        {"run_date": "2017-10-01", "campaigns": 0, "candidates": 0, "sends": 0, "budget": 250.0, "expected_cost": 0.0},
        {"run_date": "2017-09-20", "campaigns": 2, "candidates": 80, "sends": 70, "budget": 250.0}
        | {"expected_cost": 249.5},
    ]
    b = budget_content(entries)
    assert [r["run_date"] for r in b["rows"]] == ["2017-09-20", "2017-10-30"]
    assert b["rows"][0]["used_share"] == pytest.approx(249.5 / 250) and b["rows"][1]["used_share"] == 0.8
    assert b["budget"] == 500.0 and b["spent"] == 449.5 and b["used_share"] == pytest.approx(449.5 / 500)
    assert budget_content([])["used_share"] is None and budget_content([])["weeks"] == 8


def _report(monitoring: dict | None) -> dict:
    gates = {"summary": {}, "rows": [], "landed": [], "partitions_gated": {}, "partition_docs": {}}
    return {
        "run_date": "2017-10-30",
        "verdict": "safe to send",
        "failure": None,
        "late": None,
        "gates": gates,
        "campaign": None,
        "closed": None,
        "monitoring": monitoring,
        "data_docs": "data-docs/index.html",
        "data_dictionary": None,
    }


def test_the_page_shows_the_section_and_is_the_same_bytes_for_the_same_content():
    cands = pd.DataFrame({"a": [1.0, 2.0] * 50, "b": [0.0, 1.0] * 50})
    entry = {"run_date": "2017-10-30", "campaigns": 1, "candidates": 5, "sends": 4, "budget": 250.0}
    content = monitoring_content(_inputs(cands, budget=[entry | {"expected_cost": 125.0}]), None)
    page = render_html(_report(content), {})
    assert "<h2>Monitoring</h2>" in page and "<td>a</td><td>" in page and "ALERT" in page
    assert "50.0%" in page and "No campaign of ours has closed before this date." in page
    assert render_html(_report(content), {}) == page
    assert "Not monitored" in render_html(_report(None), {})


def test_a_trained_version_is_measured_against_the_profile_stored_with_it(tmp_path):
    from types import SimpleNamespace

    from couponflow.app.report.monitoring_inputs import champion_profile
    from couponflow.platform import manifest
    from couponflow.platform.storage import LocalStore

    store = LocalStore(tmp_path)
    for version, profile in (("v1", PROFILE.to_dict()), ("v2", None)):
        objects = {"model.json": manifest.to_json_bytes({"version": version})}
        if profile is not None:
            objects["profile.json"] = manifest.to_json_bytes(profile)
        manifest.publish(store, f"registry/versions/{version}", objects, {"kind": "model", "version": version})
    res = SimpleNamespace(store=store)
    got, note = champion_profile(res, "v1", date(2017, 10, 30), 5.0)  # type: ignore[arg-type]
    assert got == PROFILE and "registry/versions/v1/profile.json" in note
    assert champion_profile(res, "v2", date(2017, 10, 30), 5.0) == (  # type: ignore[arg-type]
        None,
        "v2 was registered before profiles were stored with each version",
    )
    got, note = champion_profile(res, "v7", date(2017, 10, 30), 5.0)  # type: ignore[arg-type]
    assert got is None and "not in the registry" in note
