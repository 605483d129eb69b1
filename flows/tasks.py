"""Prefect tasks: thin wrappers over the application and the models, each handed the run's
resources (store, source, warehouse) that the flow built once."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NONE

from couponflow.app import decision_inputs, gates, ingest, publishing, report
from couponflow.app.history_inputs import load_scorer
from couponflow.platform.contacts import do_not_contact, our_sends
from couponflow.platform.gate_results import GateResult
from couponflow.platform.landing import LandingReport
from couponflow.platform.resources import Resources
from flows import artifacts
from flows.retries import STORE_RETRIES
from models.decision import CampaignDecision, contact_facts, decide
from models.registry import Registry


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


@task(name="land", cache_policy=NONE, **STORE_RETRIES)
def land(res: Resources, through: date) -> LandingReport:
    """Land every missing day up to ``through`` (gated, manifest-last)."""
    rep = ingest.land_through(
        res.store, res.source, through, on_progress=_progress_callback(), batch_days=res.settings.land_batch_days
    )
    get_run_logger().info(
        "landed %d new days and %d snapshots through %s", len(rep.landed_days), len(rep.landed_snapshots), through
    )
    return rep


@task(name="build-warehouse", cache_policy=NONE, **STORE_RETRIES)
def build_warehouse(res: Resources, full_refresh: bool = False) -> dict[str, Any]:
    """Point dbt's sources at the manifest-listed files, then dbt build (staging, marts, tests);
    ``full_refresh`` rebuilds the incremental models from all of the lake (after a re-landed day)."""
    files = res.warehouse.expose(res.store)
    # dbt's unit tests pin the SQL's edges and run in CI (the test suite builds with them); a
    # daily run's data cannot change their outcome, so it skips them (about 10 s a build)
    args = ("--full-refresh",) if full_refresh else ()
    result = res.warehouse.build("build", "--exclude-resource-type", "unit_test", *args)
    get_run_logger().info("dbt build: %s", result.summary)
    return {"files": files, "dbt": result.summary}


@task(name="allocate", cache_policy=NONE, **STORE_RETRIES)
def allocate(res: Resources, run_date: date) -> CampaignDecision:
    """Score the day's candidates with the champion (or, for a published date, the model its
    manifest names, so that a forced re-run decides with the same model) and assign."""
    settings, store = res.settings, res.store
    registry = Registry(store)
    published = publishing.published_campaign(store, run_date)
    version = published.manifest["model"]["version"] if published else registry.champion()
    scorer = load_scorer(res.warehouse, registry, version, settings.prior_strength)
    with res.warehouse.session():
        candidates = decision_inputs.load_candidates(res.warehouse, run_date)
        campaigns = decision_inputs.load_campaigns(res.warehouse)
    sends = our_sends(store, run_date, settings.contact_window_days)
    recent, live = contact_facts(candidates, sends, campaigns, run_date)
    decision = decide(
        settings,
        run_date,
        candidates,
        scorer,
        do_not_contact=do_not_contact(store),
        recent_sends=recent,
        live_same_type=live,
    )
    get_run_logger().info("%s: %d candidates, %d sends", run_date, len(decision.decisions), len(decision.sends))
    return decision


@task(name="publish", cache_policy=NONE, **STORE_RETRIES)
def publish(res: Resources, decision: CampaignDecision, force: bool) -> str:
    return publishing.publish_campaign(res.store, res.settings, decision, force=force).prefix


@task(name="gate-marts", cache_policy=NONE)
def gate_marts(res: Resources, run_dates: list[date]) -> list[GateResult]:
    """The marts gate for the run dates; a failure is quarantined and stops the run (GateFailed)."""
    with res.warehouse.session():
        run = gates.enforce(res.store, gates.check_marts(res, run_dates), max(run_dates))
    _log_gate(run.results)
    return run.results


@task(name="gate-campaign", cache_policy=NONE)
def gate_campaign(res: Resources, decision: CampaignDecision) -> list[GateResult]:
    """The campaign gate before publishing; a failure is quarantined and stops the run (GateFailed)."""
    run = gates.enforce(res.store, gates.check_campaign(res, decision), decision.run_date)
    _log_gate(run.results)
    return run.results


def _log_gate(results: list[GateResult]) -> None:
    logger = get_run_logger()
    for r in results:
        for c in r.warnings:
            logger.warning(
                "%s gate warning on %s %s: %s %s: %s", r.gate, r.table, r.partition, c.check, c.column or "", c.detail
            )


@task(name="record-gates", cache_policy=NONE, **STORE_RETRIES)
def record_gates(
    res: Resources, run_date: date, ran: dict[str, list[GateResult]], late: dict[str, Any] | None = None
) -> str:
    """The gates that passed for ``run_date``, in the lake before its campaign is (gates/date=D/)."""
    return report.publish_gate_record(res.store, run_date, ran, late).prefix


@task(name="report", cache_policy=NONE, **STORE_RETRIES)
def write_report(
    res: Resources,
    run_date: date,
    ran: dict[str, list[GateResult]] | None = None,
    failure: str | None = None,
    failed_gate: str | None = None,
    reuse: bool = False,
) -> str:
    """The operators' page and the run's Data Docs under reports/date=D/, and the run's artifacts
    in Prefect (verdict, gates, link: flows/artifacts.py)."""
    ds = report.write_report(res, run_date, ran, failure, failed_gate, reuse=reuse)
    artifacts.publish_artifacts(res.store, ds, run_date)
    return ds.prefix


@task(name="advance-latest", cache_policy=NONE, **STORE_RETRIES)
def advance_latest(res: Resources, run_date: date) -> None:
    """campaigns/latest.json, once the date's campaign and report are published."""
    publishing.advance_latest(res.store, run_date)


def day_before(d: date) -> date:
    return d - timedelta(days=1)
