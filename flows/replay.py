"""Replay on history: decide a past campaign as if we had run it, among the households the
retailer really sent it, reaching only a share of them, so that the choice can be scored
against the real redemptions (honest lift: lift is "n/a" here, capture is not).

It lands through the run date itself, because the retailer's sends of a campaign land with its
start date; features stay as of the run date 00:00 (the marts guarantee it). The allocation is
published under ``replay/`` and never mixes with real campaigns.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NONE

from couponflow.app import decision_inputs, publishing
from couponflow.app.history_inputs import load_scorer
from couponflow.platform.contacts import do_not_contact
from couponflow.platform.resources import Resources, build_resources
from couponflow.platform.runs import RunRecord
from couponflow.platform.schedule import check_run_date
from flows import tasks
from flows.alerts import alert_on_failure
from flows.lake_limit import one_run_per_lake
from flows.recording import new_record, recorded
from models.decision import CampaignDecision, decide, replay_settings
from models.registry import Registry


@task(name="allocate-replay", cache_policy=NONE)
def allocate_replay(res: Resources, run_date: date, share: float) -> tuple[CampaignDecision, Resources]:
    """The decision among the real recipients, and the resources whose settings it was made under."""
    registry = Registry(res.store)
    scorer = load_scorer(res.warehouse, registry, registry.champion(), res.settings.prior_strength)
    candidates = decision_inputs.replay_candidates(res.warehouse, run_date, share)
    replayed = replace(res, settings=replay_settings(res.settings, candidates))
    decision = decide(replayed.settings, run_date, candidates, scorer, do_not_contact=do_not_contact(res.store))
    return decision, replayed


def _replay_day(res: Resources, day: date, share: float, force: bool, record: RunRecord) -> dict[str, Any]:
    with record.stage("allocate"):
        decision, replayed = allocate_replay(res, day, share)
    with record.stage("gate-campaign"):
        tasks.gate_campaign(replayed, decision)
    with record.stage("publish"):
        ds = publishing.publish_campaign(res.store, replayed.settings, decision, force=force, replay=True)
    return {
        "run_date": day.isoformat(),
        "campaign": ds.prefix,
        "sends": len(decision.sends),
        "model_version": decision.model["version"],
        "capture": decision_inputs.replay_capture(res.warehouse, decision),
    }


@flow(name="replay", log_prints=True, on_failure=[alert_on_failure])
def replay(run_date: date, share: float | None = None, force: bool = False, end: date | None = None) -> dict[str, Any]:
    """Replay the campaigns starting on ``run_date`` or, with ``end``, every campaign start in
    [run_date, end] (one landing and one build for the range)."""
    res = build_resources()
    source = res.source  # bad parameters fail at once, without waiting for the lake
    first = check_run_date(run_date, source.first_day, source.last_day)
    last = check_run_date(end, source.first_day, source.last_day) if end else first
    if last < first:
        raise ValueError(f"the replay range ends ({last}) before it starts ({first}): swap --start and --end")
    share = res.settings.replay_share if share is None else share
    if not 0 < share <= 1:
        raise ValueError(f"share {share} is outside (0, 1]: the share of a campaign's real recipients to reach")
    with one_run_per_lake(res, "replay"):
        params = {"start": first.isoformat(), "end": last.isoformat(), "share": share, "force": force}
        record = new_record("replay", params)
        with recorded(res, record):
            with record.stage("land"):
                tasks.land(res, last)
            with record.stage("build"):
                tasks.build_warehouse(res)
            days = [first] if last == first else decision_inputs.campaign_starts(res.warehouse, first, last)
            if days:
                with record.stage("gate-marts"):
                    tasks.gate_marts(res, days)
            results = [_replay_day(res, day, share, force, record) for day in days]
        record.outputs = {"days": results}
        record.finish(res.store, "success")
        return {"days": results, "run_id": record.run_id, "stages": record.stages}
