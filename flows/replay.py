"""Replay on history: decide a past campaign as if we had run it, among the households the
retailer really sent it, reaching only a share of them, so that the choice can be scored
against the real redemptions (DESIGN.md: honest lift; lift is "n/a" here, capture is not).

It lands through the run date itself, because the retailer's sends of a campaign land with its
start date; features stay as of the run date 00:00 (the marts guarantee it). The allocation is
published under ``replay/`` and never mixes with real campaigns.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NONE
from prefect.runtime import flow_run

from couponflow import campaign
from couponflow.config import Settings, load_settings
from couponflow.contacts import do_not_contact
from couponflow.runs import RunRecord
from couponflow.schedule import check_run_date
from couponflow.sources import get_source
from couponflow.storage import open_store
from flows import tasks
from models.registry import Registry
from models.scoring import load_scorer


@task(name="allocate-replay", cache_policy=NONE)
def allocate_replay(settings: Settings, run_date: date, share: float):
    store = open_store(settings)
    registry = Registry(store)
    scorer = load_scorer(registry, registry.champion(), settings.prior_strength)
    candidates = campaign.replay_candidates(settings, run_date, share)
    replay_settings = campaign.replay_settings(settings, candidates)
    decision = campaign.decide(replay_settings, run_date, candidates, scorer, do_not_contact=do_not_contact(store))
    return decision, replay_settings


def _replay_day(settings: Settings, store, day: date, share: float, force: bool, record: RunRecord) -> dict[str, Any]:
    with record.stage("allocate"):
        decision, replay_settings = allocate_replay(settings, day, share)
    with record.stage("gate-campaign"):
        tasks.gate_campaign(replay_settings, decision)
    with record.stage("publish"):
        ds = campaign.publish_campaign(store, replay_settings, decision, force=force, replay=True)
    return {"run_date": day.isoformat(), "campaign": ds.prefix, "sends": len(decision.sends),
            "model_version": decision.model["version"], "capture": campaign.replay_capture(settings, decision)}


@flow(name="replay", log_prints=True)
def replay(run_date: date, share: float | None = None, force: bool = False, end: date | None = None) -> dict[str, Any]:
    """Replay the campaigns starting on ``run_date`` or, with ``end``, every campaign start in
    [run_date, end] (one landing and one build for the range)."""
    settings = load_settings()
    store, source = open_store(settings), get_source(settings)
    first = check_run_date(run_date, source.first_day, source.last_day)
    last = check_run_date(end, source.first_day, source.last_day) if end else first
    if last < first:
        raise ValueError(f"the replay range ends ({last}) before it starts ({first}): swap --start and --end")
    share = share or settings.replay_share
    record = RunRecord(str(flow_run.id or uuid.uuid4()), "replay",
                       {"start": first.isoformat(), "end": last.isoformat(), "share": share, "force": force})
    try:
        with record.stage("land"):
            tasks.land(settings, last)
        with record.stage("build"):
            tasks.build_warehouse(settings)
        days = [first] if last == first else campaign.campaign_starts(settings, first, last)
        if days:
            with record.stage("gate-marts"):
                tasks.gate_marts(settings, days)
        results = [_replay_day(settings, store, day, share, force, record) for day in days]
    except Exception as exc:
        record.finish(store, "failed", f"{type(exc).__name__}: {exc}")
        raise
    record.outputs = {"days": results}
    record.finish(store, "success")
    return {"days": results, "run_id": record.run_id, "stages": record.stages}
