"""The daily and backfill flows: orchestration only, every step is a task in flows/tasks.py.

daily(D): land the days before D (catching up any missing ones; raw gate), build the warehouse,
gate the marts, decide the campaigns that start on D, gate the decision, publish it, write the
operators' report (with the run's Data Docs) and the run record. A date already published is
reused unless ``force`` is set. A gate failure stops the run before anything downstream is
written (the offending data go to quarantine/<gate>/date=D/); the report and the run record
say why, and the flow raises GateFailed (the CLI exits 1 with its one line).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from prefect import flow
from prefect.runtime import flow_run

from couponflow.campaign import published_campaign
from couponflow.config import load_settings
from couponflow.runs import RunRecord
from couponflow.schedule import check_run_date, date_range, next_run_date
from couponflow.sources import get_source
from couponflow.storage import open_store
from expectations.runtime import GateFailed
from flows import tasks


def _run_id() -> str:
    return str(flow_run.id or uuid.uuid4())


def _gate_summary(results) -> list[dict[str, Any]]:
    by_table: dict[str, dict[str, Any]] = {}
    for r in results:
        row = by_table.setdefault(f"{r.gate}:{r.table}", {"gate": r.gate, "table": r.table,
                                                          "partitions": 0, "failed": 0, "warnings": 0})
        row["partitions"] += 1
        row["failed"] += int(not r.success)
        row["warnings"] += len(r.warnings)
    return list(by_table.values())


def _decide_day(settings, store, day: date, force: bool, record: RunRecord,
                ran: dict[str, list] | None = None) -> dict[str, Any]:
    existing = published_campaign(store, day)
    if existing is not None and not force:
        out = {"campaign": existing.prefix, "reused": True, "sends": existing.rows(),
               "model_version": existing.manifest["model"]["version"]}
        ran = None  # the report keeps the gates of the run that published it
    else:
        ran = dict(ran or {})
        with record.stage("allocate"):
            decision = tasks.allocate(settings, day)
        with record.stage("gate-campaign"):
            ran["campaign"] = tasks.gate_campaign(settings, decision)
        record.gates = _gate_summary([r for rs in ran.values() for r in rs])
        with record.stage("publish"):
            prefix = tasks.publish(settings, decision, force)
        out = {"campaign": prefix, "reused": False, "sends": len(decision.sends),
               "model_version": decision.model["version"]}
    with record.stage("report"):
        out["report"] = tasks.write_report(settings, day, ran, reuse=out["reused"])
    return out


def _stopped(settings, day: date, ran: dict[str, list], exc: GateFailed, record: RunRecord) -> None:
    """A gate stopped the run: report what ran and what failed, record it."""
    ran = {**ran, exc.gate: exc.all_results}
    record.gates = _gate_summary([r for rs in ran.values() for r in rs])
    tasks.write_report(settings, day, ran, failure=str(exc), failed_gate=exc.gate)


@contextmanager
def recorded(settings, store, record: RunRecord, ran: dict[str, list], day: Callable[[], date]) -> Iterator[None]:
    """Record a failure in the run record (and, for a gate, in the report of ``day()``), then re-raise."""
    try:
        yield
    except GateFailed as exc:
        _stopped(settings, day(), ran, exc, record)
        record.finish(store, "failed", str(exc))
        raise
    except Exception as exc:
        record.finish(store, "failed", f"{type(exc).__name__}: {exc}")
        raise


def _land_and_build(settings, run_date: date, record: RunRecord, ran: dict[str, list]) -> None:
    """Land every missing day before ``run_date`` (raw gate included), then build the warehouse."""
    with record.stage("land"):
        landing = tasks.land(settings, tasks.day_before(run_date))
    ran["raw"] = landing.gate_results
    record.gates = _gate_summary(landing.gate_results)
    with record.stage("build"):
        record.outputs["warehouse"] = tasks.build_warehouse(settings)


@flow(name="daily", log_prints=True)
def daily(run_date: date | None = None, force: bool = False) -> dict[str, Any]:
    settings = load_settings()
    store, source = open_store(settings), get_source(settings)
    day = check_run_date(run_date or next_run_date(store, source.first_day), source.first_day, source.last_day)
    record = RunRecord(_run_id(), "daily", {"run_date": day.isoformat(), "force": force})
    ran: dict[str, list] = {}
    with recorded(settings, store, record, ran, lambda: day):
        if published_campaign(store, day) is None or force:
            _land_and_build(settings, day, record, ran)
            with record.stage("gate-marts"):
                ran["marts"] = tasks.gate_marts(settings, [day])
        record.outputs.update(_decide_day(settings, store, day, force, record, ran))
    record.outputs["run_date"] = day.isoformat()
    record.finish(store, "success")
    return {**record.outputs, "run_id": record.run_id, "stages": record.stages, "store": store.description}


@flow(name="backfill", log_prints=True)
def backfill(start: date, end: date, allocate: bool = True, force: bool = False) -> dict[str, Any]:
    """Land everything before ``end`` once, build once, then decide each day of [start, end]."""
    settings = load_settings()
    store, source = open_store(settings), get_source(settings)
    days = [check_run_date(d, source.first_day, source.last_day) for d in date_range(start, end)]
    record = RunRecord(_run_id(), "backfill",
                       {"start": start.isoformat(), "end": end.isoformat(), "allocate": allocate, "force": force})
    ran: dict[str, list] = {}
    current = {"day": end}  # the date a gate failure is reported under
    with recorded(settings, store, record, ran, lambda: current["day"]):
        _land_and_build(settings, end, record, ran)
        if allocate:
            with record.stage("gate-marts"):
                ran["marts"] = tasks.gate_marts(settings, days)
            record.outputs["days"] = {}
            for day in days:
                current["day"] = day
                record.outputs["days"][day.isoformat()] = _decide_day(settings, store, day, force, record, ran)
    record.finish(store, "success")
    return {**record.outputs, "run_id": record.run_id, "stages": record.stages, "store": store.description}
