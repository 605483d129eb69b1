"""The daily and backfill flows: orchestration only, every step is a task in flows/tasks.py.

daily(D): land the days before D (catching up any missing ones; raw gate), build the warehouse,
gate the marts, decide the campaigns that start on D, gate the decision, publish it, write the
operators' report (with the run's Data Docs) and the run record. A date already published is
reused unless ``force`` is set. A gate failure stops the run before anything downstream is
written (the offending data go to quarantine/<gate>/date=D/); the report and the run record
say why, and the flow raises GateFailed (the CLI exits 1 with its one line).

daily(catch_up=True) is what the schedule runs (DESIGN, scheduled runs): every date from the next
one not yet published up to the schedule's date S (the run's scheduled start in
COUPONFLOW_TIMEZONE, or ``run_date``), in order, so that no campaign start is skipped after
missed runs; landed and built once, like a backfill. A date decided after it began (D < S) is
flagged late in its gate record and report.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow

from couponflow.app import ingest
from couponflow.app.publishing import published_campaign
from couponflow.platform.gate_results import GateFailed
from couponflow.platform.resources import Resources, build_resources
from couponflow.platform.runs import RunRecord
from couponflow.platform.schedule import check_run_date, date_range, next_run_date
from flows import tasks
from flows.alerts import alert_on_failure
from flows.lake_limit import one_run_per_lake
from flows.recording import gate_summary, new_record, recorded


def _decide_day(
    res: Resources,
    day: date,
    force: bool,
    record: RunRecord,
    ran: dict[str, list] | None = None,
    late: dict[str, Any] | None = None,
) -> dict[str, Any]:
    existing = published_campaign(res.store, day)
    if existing is not None and not force:
        out = {
            "campaign": existing.prefix,
            "reused": True,
            "sends": existing.rows(),
            "model_version": existing.manifest["model"]["version"],
        }
        ran = None  # the report keeps the gates of the run that published it
    else:
        ran = dict(ran or {})
        with record.stage("allocate"):
            decision = tasks.allocate(res, day)
        with record.stage("gate-campaign"):
            ran["campaign"] = tasks.gate_campaign(res, decision)
        record.gates = gate_summary([r for rs in ran.values() for r in rs])
        with record.stage("publish"):
            tasks.record_gates(res, day, ran, late)
            prefix = tasks.publish(res, decision, force)
        out = {
            "campaign": prefix,
            "reused": False,
            "sends": len(decision.sends),
            "model_version": decision.model["version"],
        }
    with record.stage("report"):
        out["report"] = tasks.write_report(res, day, ran, reuse=out["reused"])
        tasks.advance_latest(res, day)
    return out


def _report_stop(res: Resources, day: date, ran: dict[str, list], record: RunRecord, exc: GateFailed) -> None:
    """What a gate failure leaves: the report of ``day`` says what ran and what failed."""
    stopped = {**ran, exc.gate: exc.all_results}
    record.gates = gate_summary([r for rs in stopped.values() for r in rs])
    tasks.write_report(res, day, stopped, failure=str(exc), failed_gate=exc.gate)


def _land_and_build(
    res: Resources, run_date: date, record: RunRecord, ran: dict[str, list], reland: date | None = None
) -> None:
    """Land every missing day before ``run_date`` (raw gate included), then build the warehouse.
    ``reland`` (a drop zone's landed day) is re-landed first, and the build is then a full one."""
    relanded: list = []
    if reland is not None:
        with record.stage("reland"):
            relanded = ingest.reland(res, reland).gate_results
        record.outputs["relanded"] = reland.isoformat()
    with record.stage("land"):
        landing = tasks.land(res, tasks.day_before(run_date))
    ran["raw"] = relanded + landing.gate_results
    record.gates = gate_summary(ran["raw"])
    full = ingest.full_build_needed(res)  # a re-landed day, now or by a run that died before its build
    with record.stage("build"):
        record.outputs["warehouse"] = tasks.build_warehouse(res, full_refresh=full)
    if full:
        ingest.full_build_done(res)


def _land_and_decide(
    res: Resources,
    days: list[date],
    record: RunRecord,
    ran: dict[str, list],
    current: dict[str, date],
    *,
    force: bool = False,
    allocate: bool = True,
    decided_on: date | None = None,
    reland: date | None = None,
) -> None:
    """Land and build once through the last of ``days``, gate the marts for all of them, then
    decide each in order (``current`` names the day a gate failure is reported under). With
    ``decided_on`` (a catch-up) each day's outputs say whether it was decided late."""
    _land_and_build(res, days[-1], record, ran, reland)
    if not allocate:
        return
    with record.stage("gate-marts"):
        ran["marts"] = tasks.gate_marts(res, days)
    record.outputs["days"] = {}
    for day in days:
        current["day"] = day
        late = late_flag(day, decided_on) if decided_on else None
        out = _decide_day(res, day, force, record, ran, late)
        record.outputs["days"][day.isoformat()] = {**out, "late": late} if decided_on else out


def schedule_date(timezone: str) -> date:
    """The date of this flow run's scheduled start in ``timezone`` (now, for a run started by hand)."""
    from prefect.runtime import flow_run

    start = flow_run.scheduled_start_time
    start = start if isinstance(start, datetime) else datetime.now(ZoneInfo("UTC"))
    return start.astimezone(ZoneInfo(timezone)).date()


def late_flag(day: date, decided_on: date) -> dict[str, Any] | None:
    """DESIGN: a date decided after it began is late (None: decided on time)."""
    days = (decided_on - day).days
    return {"decided_on": decided_on.isoformat(), "days": days} if days > 0 else None


def _catch_up(res: Resources, until: date) -> dict[str, Any]:
    """Decide every unpublished date from the next one through ``until`` (see the module doc)."""
    source = res.source
    last = min(until, source.last_day + timedelta(days=1))
    first = next_run_date(res.store, source.first_day)
    days = date_range(first, last) if first <= last else []
    record = new_record("daily", {"catch_up": True, "until": until.isoformat()})
    ran: dict[str, list] = {}
    current = {"day": last}
    with recorded(res, record, lambda exc: _report_stop(res, current["day"], ran, record, exc)):
        record.outputs["days"] = {}
        if days:
            _land_and_decide(res, days, record, ran, current, decided_on=until)
    record.outputs["run_date"] = days[-1].isoformat() if days else None
    record.finish(res.store, "success")
    return {**record.outputs, "run_id": record.run_id, "stages": record.stages, "store": res.store.description}


@flow(name="daily", log_prints=True, on_failure=[alert_on_failure])
def daily(
    run_date: date | None = None, force: bool = False, catch_up: bool = False, reland: date | None = None
) -> dict[str, Any]:
    """``reland``: re-land that landed day of the drop zone first (its files changed upstream) and
    rebuild the warehouse in full; ``force`` alone re-decides a published date (DESIGN)."""
    res = build_resources()
    source = res.source
    # bad parameters fail at once, without waiting for the lake behind another run
    if run_date is not None:
        check_run_date(run_date, source.first_day, source.last_day)
    if catch_up and force:
        raise ValueError("catch_up decides unpublished dates only: drop force, or re-decide one date with run_date")
    if catch_up and reland is not None:
        raise ValueError("reland applies to one run date or a backfill: drop catch_up, or reland")
    with one_run_per_lake(res, "daily"):
        return _daily(res, run_date, force, catch_up, reland)


def _daily(
    res: Resources, run_date: date | None, force: bool, catch_up: bool, reland: date | None = None
) -> dict[str, Any]:
    source = res.source
    if catch_up:
        if run_date is not None:  # checked by daily() before the lake's slot
            return _catch_up(res, run_date)
        # the schedule's date may lie past a replayed history: catch up to its end
        until = schedule_date(res.settings.timezone)
        check_run_date(min(until, source.last_day + timedelta(days=1)), source.first_day, source.last_day)
        return _catch_up(res, until)
    day = check_run_date(run_date or next_run_date(res.store, source.first_day), source.first_day, source.last_day)
    params: dict[str, Any] = {"run_date": day.isoformat(), "force": force}
    if reland is not None:
        params["reland"] = reland.isoformat()
    record = new_record("daily", params)
    ran: dict[str, list] = {}
    with recorded(res, record, lambda exc: _report_stop(res, day, ran, record, exc)):
        # a relanded day is rebuilt even under a published date, which is reused unless forced
        if published_campaign(res.store, day) is None or force or reland is not None:
            _land_and_build(res, day, record, ran, reland)
            with record.stage("gate-marts"):
                ran["marts"] = tasks.gate_marts(res, [day])
        record.outputs.update(_decide_day(res, day, force, record, ran))
    record.outputs["run_date"] = day.isoformat()
    record.finish(res.store, "success")
    return {**record.outputs, "run_id": record.run_id, "stages": record.stages, "store": res.store.description}


@flow(name="backfill", log_prints=True, on_failure=[alert_on_failure])
def backfill(
    start: date, end: date, allocate: bool = True, force: bool = False, reland: date | None = None
) -> dict[str, Any]:
    """Land everything before ``end`` once, build once, then decide each day of [start, end]
    (``reland``: re-land that drop-zone day first and build in full)."""
    res = build_resources()
    for day in date_range(start, end):  # bad parameters fail at once, without waiting for the lake
        check_run_date(day, res.source.first_day, res.source.last_day)
    with one_run_per_lake(res, "backfill"):
        return _backfill(res, start, end, allocate, force, reland)


def _backfill(
    res: Resources, start: date, end: date, allocate: bool, force: bool, reland: date | None = None
) -> dict[str, Any]:
    source = res.source
    days = [check_run_date(d, source.first_day, source.last_day) for d in date_range(start, end)]
    params: dict[str, Any] = {"start": start.isoformat(), "end": end.isoformat(), "allocate": allocate, "force": force}
    if reland is not None:
        params["reland"] = reland.isoformat()
    record = new_record("backfill", params)
    ran: dict[str, list] = {}
    current = {"day": end}  # the date a gate failure is reported under
    with recorded(res, record, lambda exc: _report_stop(res, current["day"], ran, record, exc)):
        _land_and_decide(res, days, record, ran, current, force=force, allocate=allocate, reland=reland)
    record.finish(res.store, "success")
    return {**record.outputs, "run_id": record.run_id, "stages": record.stages, "store": res.store.description}
