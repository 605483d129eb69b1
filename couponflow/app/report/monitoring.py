"""The report's Monitoring section (pure): drift of the day's candidates against the profile of
the training data of the model the campaign names, that model's realised ranking and
calibration on every closed campaign as a trend, and budget use over the last weeks.

* **Drift**: population stability (``models.drift``) of each numeric feature of the day's
  candidates (``marts.scoring_candidates`` of D) and of their scores (the decision log of D)
  against the profile stored with the model version (``registry/versions/vN/profile.json``; for
  the rule v0, the marts' training examples of the campaigns closed before D). Status ok below
  ``drift_psi_warn``, warn below ``drift_psi_alert``, alert from it on; each alert is a breach.
  The offer's own facts (``OFFER_FEATURES``: one value per campaign) are shown with the status
  "offer" and never alert: a day holds one or two campaigns, the training data a mix of many,
  so their PSI measures which campaign starts today, not a change in the households.
* **Performance**: per closed campaign (``couponflow.app.outcomes``), oldest first: the realised
  AUC of the logged scores within the campaign, and the calibration of the sends: the predicted
  redemption rate (mean score sent) against the realised one, and their ratio.
* **Budget**: per run date in the last ``BUDGET_WEEKS`` weeks (D included) with a campaign to
  decide, the expected cost committed against the budget, from the published campaign manifests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from models.drift import SCORE, Profile, psi_frame, status

BUDGET_WEEKS = 8
# facts of the campaign, the same for every candidate of it (marts.offer_features)
OFFER_FEATURES = frozenset({"duration_days", "n_coupons", "n_products", "planned_size", "expected_discount"})


@dataclass(frozen=True)
class MonitoringInputs:
    model: str | None  # the version the campaign manifest names (None: no campaign)
    profile: Profile | None
    profile_note: str  # where the profile is from, or why there is none
    candidates: pd.DataFrame | None  # the day's candidates with their features (None: not read)
    scores: np.ndarray | None  # the day's logged scores of those candidates
    budget: list[dict[str, Any]] = field(default_factory=list)  # one entry per published run date
    warn: float = 0.1
    alert: float = 0.25


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def drift_content(inputs: MonitoringInputs) -> dict[str, Any]:
    """One row per profiled feature (the score first): its PSI and status."""
    out: dict[str, Any] = {"model": inputs.model, "profile": inputs.profile_note, "rows": []}
    out["warn"], out["alert"] = inputs.warn, inputs.alert
    if inputs.profile is None:
        out["note"] = "no profile to compare with: " + inputs.profile_note
        return out
    out["profile_rows"] = inputs.profile.rows
    if inputs.candidates is None or inputs.candidates.empty:
        out["note"] = "no candidates on this date (no campaign starts): nothing to compare"
        return out
    values = psi_frame(inputs.candidates, inputs.profile, score=inputs.scores)
    order = sorted(values, key=lambda name: (name != SCORE, name))
    out["candidates"] = len(inputs.candidates)
    out["rows"] = [
        {
            "feature": name,
            "psi": _rounded(values[name]),
            "status": "offer" if name in OFFER_FEATURES else status(values[name], inputs.warn, inputs.alert),
        }
        for name in order
    ]
    counts = {s: sum(r["status"] == s for r in out["rows"]) for s in ("ok", "warn", "alert", "absent", "offer")}
    out["counts"] = counts
    out["note"] = ""
    return out


def performance_trend(closed: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The realised AUC and calibration of each closed campaign, oldest first (a trend)."""
    rows = []
    for c in closed or []:
        sends = int(c.get("sends") or 0)
        predicted = float(c["expected_redemptions"]) / sends if sends else None
        realised = c.get("redemption_rate")
        rows.append(
            {
                "campaign_id": c["campaign_id"],
                "mode": c["mode"],
                "decided_on": c["decided_on"],
                "window_end": c["window_end"],
                "model": c.get("model"),
                "auc": c.get("auc"),
                "sends": sends,
                "predicted_rate": predicted,
                "realised_rate": realised,
                "predicted_over_realised": predicted / realised if predicted is not None and realised else None,
            }
        )
    return sorted(rows, key=lambda r: (r["decided_on"], r["campaign_id"], r["mode"]))


def budget_content(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Budget use per run date with candidates (oldest first) and over the whole window."""
    rows = []
    for e in sorted(entries, key=lambda e: e["run_date"]):
        if not e.get("candidates"):
            continue  # no campaign started: nothing could be spent
        budget, spent = e.get("budget"), float(e.get("expected_cost") or 0.0)
        rows.append(
            {
                "run_date": e["run_date"],
                "campaigns": e.get("campaigns", 0),
                "sends": int(e.get("sends") or 0),
                "budget": budget,
                "spent": spent,
                "used_share": spent / budget if budget else None,
            }
        )
    budgets = [r["budget"] for r in rows if r["budget"]]
    total_budget = float(sum(budgets)) if budgets else None
    total_spent = float(sum(r["spent"] for r in rows if r["budget"]))
    return {
        "weeks": BUDGET_WEEKS,
        "rows": rows,
        "budget": total_budget,
        "spent": total_spent,
        "used_share": total_spent / total_budget if total_budget else None,
    }


def breaches(drift: dict[str, Any]) -> list[dict[str, Any]]:
    """Monitors past their alert threshold: (monitor, value, threshold), in the page's order."""
    return [
        {"monitor": f"PSI of {'the score' if r['feature'] == SCORE else 'feature ' + r['feature']}", "value": r["psi"]}
        | {"threshold": drift["alert"]}
        for r in drift["rows"]
        if r["status"] == "alert"
    ]


def monitoring_content(inputs: MonitoringInputs, closed: list[dict[str, Any]] | None) -> dict[str, Any]:
    drift = drift_content(inputs)
    return {
        "drift": drift,
        "performance": performance_trend(closed),
        "budget": budget_content(inputs.budget),
        "breaches": breaches(drift),
    }
