"""The report's content (pure): what the writer read from the lake and the warehouse goes in,
the dict that ``report.json`` holds and the page shows comes out. No clock, no run id: the same
inputs give the same content."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from couponflow.app.report.gates import gate_rows
from couponflow.app.report.monitoring import MonitoringInputs, monitoring_content
from couponflow.app.report.segments import SegmentInputs, segments_content
from couponflow.platform.lake import DATA_DICTIONARY, DATA_DOCS

SEGMENTS = ("age", "income", "kids_count")  # demographics known for about a third of households


@dataclass(frozen=True)
class ClosedInputs:
    """Closed campaigns as measured by ``couponflow.app.outcomes`` (None rows: no warehouse yet)."""

    rows: list[dict[str, Any]] | None
    history: bool = False  # the source is recorded history: lift is n/a
    target_model: str | None = None


@dataclass(frozen=True)
class ReportInputs:
    run_date: date
    record: dict[str, Any]  # the gate record of the run date (gates.gate_record)
    pages: dict[tuple, str]  # Data Docs page of each validation record
    raw_results: list[dict[str, Any]]  # published raw-gate results of the data D decides on
    campaign: dict[str, Any] | None  # the campaign manifest of D
    decisions: pd.DataFrame | None  # the decision log of D
    households: pd.DataFrame | None  # marts.households' segment columns (None: no warehouse)
    closed: ClosedInputs | None  # None when the run stopped
    dictionary: str | None = None  # digest of the published dbt data dictionary (None: not built)
    monitoring: MonitoringInputs | None = None  # None: no campaign, or the run stopped
    segments: SegmentInputs | None = None  # behavioural segments (None: the run stopped or no warehouse)


def segment_rows(dec: pd.DataFrame | None, households: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Reach and expected cost of the day's sends by demographic segment (whether or not the model
    may use demographics, operators see whom the campaign reaches)."""
    if dec is None or dec.empty or households is None:
        return []
    d = dec.merge(households, on="household_id", how="left")
    rows = []
    for col in SEGMENTS:
        segment = d[col].astype("string").fillna("unknown")
        for value, g in d.groupby(segment, sort=True):
            candidates, sends = int(g["household_id"].nunique()), int(g["chosen"].sum())
            rows.append(
                {
                    "dimension": col,
                    "segment": str(value),
                    "candidate_households": candidates,
                    "sends": sends,
                    "reach": sends / candidates if candidates else None,
                    "expected_cost": round(float(g.loc[g["chosen"], "expected_cost"].sum()), 6),
                }
            )
    return rows


def campaign_content(
    m: dict[str, Any] | None, dec: pd.DataFrame | None, households: pd.DataFrame | None
) -> dict[str, Any] | None:
    """The campaign section, from its manifest ``m`` and its decision log ``dec``."""
    if m is None:
        return None
    summary = m.get("summary", {})
    candidates_hh = int(dec["household_id"].nunique()) if dec is not None and len(dec) else 0
    control_hh = (
        int(dec.loc[dec["status"] == "control", "household_id"].nunique()) if dec is not None and candidates_hh else 0
    )
    sends = int(summary.get("sends", 0))
    explore = int(((dec["arm"] == "explore") & dec["chosen"]).sum()) if dec is not None and len(dec) else 0
    budget = float(summary.get("budget") or m.get("policy", {}).get("budget_per_day") or 0)
    cost = float(summary.get("expected_cost", 0))
    return {
        "campaigns": summary.get("campaigns", []),
        "sends": sends,
        "candidates": int(summary.get("candidates", 0)),
        "budget": budget,
        "expected_cost": cost,
        "budget_used_share": cost / budget if budget else None,
        "expected_redemptions": float(summary.get("expected_redemptions", 0)),
        "control_households": control_hh,
        "candidate_households": candidates_hh,
        "control_share": control_hh / candidates_hh if candidates_hh else None,
        "control_share_setting": m.get("policy", {}).get("control_share"),
        "explore_sends": explore,
        "explore_share": explore / sends if sends else None,
        "holdout": summary.get("holdout"),  # selected but held back to measure lift (when the policy has one)
        "note": summary.get("note", ""),
        "model": m.get("model") or {},
        "segments": segment_rows(dec, households),
    }


def closed_content(closed: ClosedInputs) -> dict[str, Any]:
    """Our campaigns whose window ended before the run date, measured against what the lake
    recorded; the champion of today is the off-policy target."""
    if closed.rows is None:
        return {"campaigns": [], "note": "the warehouse is not built yet: nothing to measure"}
    note = (
        "The source is recorded history: our sends reached nobody, so lift is n/a and the capture of the "
        "real redeemers is what shows how well we chose. "
        if closed.history
        else ""
    )
    return {
        "campaigns": closed.rows,
        "history": closed.history,
        "target_model": closed.target_model,
        "note": note + "Off-policy values: what the champion of today would have redeemed sending as many "
        "households as we did (its top scorers), from the logged propensities; support is the "
        "share of its sends the logging policy could have made. The model learns from the "
        "households the retailer chose: exploration is what lets it see the others.",
    }


def _verdict(failure: str | None, camp: dict[str, Any] | None, gates: dict[str, Any]) -> str:
    warnings = len(
        {(r["table"], p["check"], p["column"]) for r in gates["rows"] for p in r["problems"] if p["status"] == "warn"}
        | {(p["table"], p["check"], p["column"]) for p in gates["landed"] if p["status"] == "warn"}
    )
    if failure:
        return "STOPPED: nothing was published for this date"
    if camp is None:
        return "no campaign was published for this date"
    if "fail" in gates["summary"].values():
        return "do not send: a gate failed"
    if camp["sends"] == 0:
        return "nothing to send: " + (camp["note"] or "no household was chosen")
    return "safe to send" + (f" ({warnings} warnings from soft checks; see data quality)" if warnings else "")


def build_report(inputs: ReportInputs) -> dict[str, Any]:
    """The report's content (deterministic: no times or run ids)."""
    record = inputs.record
    gates = gate_rows(inputs.raw_results, record, inputs.pages)
    camp = campaign_content(inputs.campaign, inputs.decisions, inputs.households)
    failure = record.get("failure")
    closed = None if failure or inputs.closed is None else closed_content(inputs.closed)
    monitoring = (
        None
        if failure or inputs.monitoring is None
        else monitoring_content(inputs.monitoring, inputs.closed.rows if inputs.closed else None)
    )
    return {
        "run_date": inputs.run_date.isoformat(),
        "verdict": _verdict(failure, camp, gates),
        "failure": failure,
        "failed_gate": record.get("failed_gate"),
        "late": record.get("late"),  # DESIGN, scheduled runs: a date decided after it began
        "gates": gates,
        "campaign": camp,
        "closed": closed,
        "monitoring": monitoring,
        "behaviour_segments": None if failure else segments_content(inputs.segments),
        "data_docs": f"{DATA_DOCS}/index.html",
        "data_dictionary": f"../{DATA_DICTIONARY}/{inputs.dictionary}/index.html" if inputs.dictionary else None,
    }
