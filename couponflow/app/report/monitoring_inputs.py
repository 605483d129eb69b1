"""What the report's Monitoring section reads from the lake and the warehouse, and its alerts.

The model monitored is the one the campaign manifest of the run date names (DESIGN: a report
describes the model its campaign names). Its profile is the one stored with its registry version;
the rule v0 has none stored, so its profile is made from the marts' training examples of the
campaigns closed before the run date (``models.lifecycle.v0_profile``), the same whatever landed
later. The content itself is ``couponflow.app.report.monitoring`` (pure).

Alerts: each monitor past its alert threshold calls ``monitor_breached`` once per run date and
monitor: a breach the previous report of the same date already listed is not sent again (a
rebuilt report, ``couponflow report --date D``, says nothing new). A report deleted by ``gc``
and rebuilt alerts again.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pandas as pd

from couponflow.app.decision_inputs import load_candidates, load_training_examples
from couponflow.app.report.monitoring import BUDGET_WEEKS, MonitoringInputs
from couponflow.platform import manifest
from couponflow.platform.alerts import monitor_breached
from couponflow.platform.lake import CAMPAIGNS, REPORT_DATA, REPORT_PAGE, REPORTS, date_of, dated_area, dated_prefix
from couponflow.platform.resources import Resources
from couponflow.platform.storage import ObjectStore
from models.drift import Profile
from models.lifecycle import v0_profile
from models.registry import V0, Registry, RegistryError


def budget_history(store: ObjectStore, run_date: date, weeks: int = BUDGET_WEEKS) -> list[dict[str, Any]]:
    """The summaries of the campaigns published for the ``weeks`` weeks ending on ``run_date``."""
    first = run_date - timedelta(days=7 * weeks - 1)
    out = []
    for key in sorted(store.list(dated_area(CAMPAIGNS))):
        if not key.endswith("/" + manifest.MANIFEST):
            continue
        day = date_of(key)
        if not first <= day <= run_date:
            continue
        ds = manifest.read(store, dated_prefix(CAMPAIGNS, day))
        if ds is None:
            continue
        summary = ds.manifest.get("summary", {})
        out.append(
            {
                "run_date": day.isoformat(),
                "campaigns": len(summary.get("campaigns", [])),
                "candidates": int(summary.get("candidates", 0)),
                "sends": int(summary.get("sends", 0)),
                "budget": summary.get("budget"),
                "expected_cost": float(summary.get("expected_cost", 0.0)),
            }
        )
    return out


def champion_profile(res: Resources, version: str, run_date: date, prior_strength: float) -> tuple[Profile | None, str]:
    """The profile ``version`` is measured against on ``run_date``, and where it is from."""
    if version == V0:
        profile = v0_profile(load_training_examples(res.warehouse), run_date, prior_strength)
        if profile is None:
            return None, "v0 (the rule): no campaign closed before this date, so no training window yet"
        return profile, (
            f"v0 (the rule): training examples of the {len(profile.source['campaigns'])} campaigns "
            "closed before this date"
        )
    try:
        stored = Registry(res.store).profile(version)
    except RegistryError as exc:
        return None, str(exc)
    if stored is None:
        return None, f"{version} was registered before profiles were stored with each version"
    return Profile.from_dict(stored), f"{version}: its training rows (registry/versions/{version}/profile.json)"


def monitoring_inputs(
    res: Resources, run_date: date, campaign: dict[str, Any] | None, decisions: pd.DataFrame | None
) -> MonitoringInputs | None:
    """Everything the section needs (None: no campaign, so no model, for this date). Reads the
    warehouse: call it inside the writer's session."""
    if campaign is None:
        return None
    version = (campaign.get("model") or {}).get("version")
    settings = res.settings
    prior = float(campaign.get("policy", {}).get("prior_strength", settings.prior_strength))
    profile, note = champion_profile(res, version, run_date, prior) if version else (None, "no model recorded")
    candidates, scores = None, None
    if profile is not None and decisions is not None and not decisions.empty:
        candidates = load_candidates(res.warehouse, run_date)
        scores = decisions["score"].to_numpy(dtype=float)
    return MonitoringInputs(
        version,
        profile,
        note,
        candidates,
        scores,
        budget_history(res.store, run_date),
        settings.drift_psi_warn,
        settings.drift_psi_alert,
    )


def previous_breaches(store: ObjectStore, run_date: date) -> set[str]:
    """The monitors the report of ``run_date`` already published as breached."""
    ds = manifest.read(store, dated_prefix(REPORTS, run_date))
    if ds is None or not any(o["name"] == REPORT_DATA for o in ds.objects):
        return set()
    content = json.loads(manifest.read_object(store, ds, REPORT_DATA))
    return {b["monitor"] for b in (content.get("monitoring") or {}).get("breaches", [])}


def alert_breaches(res: Resources, run_date: date, content: dict[str, Any], already: set[str]) -> list[str]:
    """Call ``monitor_breached`` for each breach of ``content`` not in ``already``; the monitors
    alerted, in order."""
    monitoring = content.get("monitoring") or {}
    page = f"{dated_prefix(REPORTS, run_date)}/{REPORT_PAGE}"
    sent = []
    for b in monitoring.get("breaches", []):
        if b["monitor"] in already:
            continue
        monitor_breached(
            res.settings,
            monitor=b["monitor"],
            value=float(b["value"]),
            threshold=float(b["threshold"]),
            run_date=run_date.isoformat(),
            fix=(
                f"today's candidates differ from the training data of {monitoring['drift']['model']}: check the "
                "inputs (a changed upstream, a broken feature), then retrain (couponflow train)"
            ),
            report=page,
        )
        sent.append(b["monitor"])
    return sent
