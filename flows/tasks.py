"""Prefect tasks: thin wrappers that call the plain functions of couponflow/ and models/."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NONE

from couponflow import campaign, report
from couponflow.config import Settings
from couponflow.ingest import LandingReport, land_through
from couponflow.contacts import do_not_contact, our_sends
from couponflow.sources import get_source
from couponflow.storage import open_store
from couponflow.warehouse import expose_lake, query_df, run_dbt
from expectations.campaign_gate import check_campaign
from expectations.marts_gate import check_marts
from expectations.quarantine import enforce
from expectations.runtime import GateResult
from models.registry import Registry
from models.scoring import load_scorer


def _progress_callback():
    """A progress bar on a terminal, a log line every 30 days elsewhere."""
    logger = get_run_logger()
    if sys.stderr.isatty():
        from rich.progress import Progress

        bar = Progress(transient=True)
        bar.start()
        state: dict[str, Any] = {}

        def on_progress(done: int, total: int) -> None:
            if "task" not in state:
                state["task"] = bar.add_task("landing days", total=total)
            bar.update(state["task"], completed=done)
            if done == total:
                bar.stop()

        return on_progress

    def log_progress(done: int, total: int) -> None:
        if done == total or done % 30 == 0:
            logger.info("landed %d/%d days", done, total)

    return log_progress


@task(name="land", cache_policy=NONE)
def land(settings: Settings, through: date) -> LandingReport:
    """Land every missing day up to ``through`` (gated, manifest-last)."""
    store, source = open_store(settings), get_source(settings)
    rep = land_through(store, source, through, on_progress=_progress_callback())
    get_run_logger().info("landed %d new days and %d snapshots through %s",
                          len(rep.landed_days), len(rep.landed_snapshots), through)
    return rep


@task(name="build-warehouse", cache_policy=NONE)
def build_warehouse(settings: Settings) -> dict[str, Any]:
    """Point dbt's sources at the manifest-listed files, then dbt build (staging, marts, tests)."""
    files = expose_lake(settings, open_store(settings))
    result = run_dbt(settings, "build")
    get_run_logger().info("dbt build: %s", result.summary)
    return {"files": files, "dbt": result.summary}


@task(name="allocate", cache_policy=NONE)
def allocate(settings: Settings, run_date: date) -> campaign.CampaignDecision:
    """Score the day's candidates with the champion (or, for a published date, the model its
    manifest names, so that a forced re-run decides with the same model) and assign."""
    store = open_store(settings)
    registry = Registry(store)
    published = campaign.published_campaign(store, run_date)
    version = published.manifest["model"]["version"] if published else registry.champion()
    scorer = load_scorer(registry, version, settings.prior_strength)
    candidates = campaign.load_candidates(settings, run_date)
    sends = our_sends(store, run_date, settings.contact_window_days)
    recent, live = campaign.contact_facts(candidates, sends, query_df(settings, "select * from marts.campaigns"), run_date)
    decision = campaign.decide(settings, run_date, candidates, scorer, do_not_contact=do_not_contact(store),
                               recent_sends=recent, live_same_type=live)
    get_run_logger().info("%s: %d candidates, %d sends", run_date, len(decision.decisions), len(decision.sends))
    return decision


@task(name="publish", cache_policy=NONE)
def publish(settings: Settings, decision: campaign.CampaignDecision, force: bool) -> str:
    ds = campaign.publish_campaign(open_store(settings), settings, decision, force=force)
    return ds.prefix


@task(name="gate-marts", cache_policy=NONE)
def gate_marts(settings: Settings, run_dates: list[date]) -> list[GateResult]:
    """The marts gate for the run dates; a failure is quarantined and stops the run (GateFailed)."""
    run = enforce(open_store(settings), check_marts(settings, run_dates), max(run_dates))
    _log_gate(run.results)
    return run.results


@task(name="gate-campaign", cache_policy=NONE)
def gate_campaign(settings: Settings, decision: campaign.CampaignDecision) -> list[GateResult]:
    """The campaign gate before publishing; a failure is quarantined and stops the run (GateFailed)."""
    run = enforce(open_store(settings), check_campaign(decision, settings), decision.run_date)
    _log_gate(run.results)
    return run.results


def _log_gate(results: list[GateResult]) -> None:
    logger = get_run_logger()
    for r in results:
        for c in r.warnings:
            logger.warning("%s gate warning on %s %s: %s %s: %s", r.gate, r.table, r.partition, c.check,
                           c.column or "", c.detail)


@task(name="report", cache_policy=NONE)
def write_report(
    settings: Settings, run_date: date, ran: dict[str, list[GateResult]] | None = None,
    failure: str | None = None, failed_gate: str | None = None, reuse: bool = False,
) -> str:
    """The operators' page and the run's Data Docs under reports/date=D/."""
    return report.write_report(settings, open_store(settings), run_date, ran, failure, failed_gate,
                               reuse=reuse).prefix


def day_before(d: date) -> date:
    return d - timedelta(days=1)
