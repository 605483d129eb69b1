"""The flows' ``on_failure`` hook: a failed run (a stopped gate included) sends one alert.

``alert_on_failure`` is attached to the daily, backfill, train and replay flows. It reads what
the run left (the exception the flow raised, with the stage ``flows/recording.py`` noted on it,
and the run record) and sends, through ``couponflow.platform.alerts``, the flow, the run date,
what failed, the one-line fix and where the report and the run record are. It never raises and
never hides the run's own error: Prefect has already set the run's final state when a hook runs,
and a notification that cannot be delivered is one warning line in the run's log.
"""

from __future__ import annotations

import json
import re
from typing import Any

from prefect.exceptions import MissingContextError

from couponflow.platform import lake
from couponflow.platform.alerts import Alert, send
from couponflow.platform.config import Settings, load_settings
from couponflow.platform.gate_results import GateFailed
from couponflow.platform.runs import KEPT_PREFIX
from couponflow.platform.storage import StoreMisconfigured, StoreUnreachable, open_store
from flows.recording import failure_line

_STAGE = re.compile(r"failed in stage (\S+)")


def alert_on_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """Prefect ``on_failure`` hook: one alert for the failed run; nothing without an alert URL."""
    try:
        settings = load_settings()
    except Exception:  # noqa: BLE001 - bad settings fail the run on their own; nothing to send to
        return
    if settings.alert_url is None:
        return
    try:
        alert = failure_alert(settings, flow.name, str(flow_run.id), dict(flow_run.parameters or {}), state)
    except Exception as exc:  # noqa: BLE001 - an alert with less detail beats no alert
        alert = Alert(
            title=f"couponflow {flow.name}: run failed",
            what=str(getattr(state, "message", "") or type(exc).__name__),
            fix="read the flow run's log and its run record, fix the cause, re-run",
            flow=flow.name,
        )
    send(settings, alert, warn=_warn)


def failure_alert(settings: Settings, flow: str, run_id: str, parameters: dict[str, Any], state: Any) -> Alert:
    """The alert of a failed flow run, from its final state and the run record it left."""
    exc = _exception(state)
    record = _run_record(settings, run_id, read_lake=isinstance(exc, GateFailed))
    params = {**parameters, **(record or {}).get("parameters", {})}  # the record has the resolved date
    run_date = _run_date(flow, params)
    stage = (record or {}).get("failed_stage") or _stage_of(exc)
    head = f"couponflow {flow} {run_date}" if run_date else f"couponflow {flow}"
    if isinstance(exc, GateFailed):
        line = str(exc)
        title = f"{head}: the {exc.gate} gate stopped the run"
        what, _, fix = line.partition(" Fix: ")
        fix = fix or "correct the upstream data and re-run the date"
    else:
        what = failure_line(exc) if exc is not None else str(getattr(state, "message", "") or "the run failed")
        where = f"in stage {stage}" if stage else "before its first stage"
        title = f"{head}: failed {where}"
        fix = _fix(exc, flow, params)
    links = {}
    report_day = _report_day(flow, params, exc) if isinstance(exc, GateFailed) else None
    if report_day:
        links["report"] = _where(settings, f"{lake.REPORTS}/date={report_day}/{lake.REPORT_PAGE}")
    kept = settings.home_dir / f"{KEPT_PREFIX}{run_id}.json"
    if kept.exists():
        links["run record"] = str(kept)
    elif record is not None or stage is not None:
        links["run record"] = _where(settings, lake.run_record_key(run_id))
    links["flow run"] = run_id
    return Alert(
        title=title,
        what=what,
        fix=fix,
        flow=flow,
        run_date=run_date,
        stage=stage or "none (it failed before its first stage)",
        links=links,
    )


def _exception(state: Any) -> BaseException | None:
    try:
        result = state.result(raise_on_failure=False)
    except Exception:  # noqa: BLE001 - the state holds no exception we can read back
        return None
    return result if isinstance(result, BaseException) else None


def _run_record(settings: Settings, run_id: str, read_lake: bool) -> dict[str, Any] | None:
    """The run's record: kept in the home when the lake could not take it, else in the lake (read
    only when the lake is known to answer, e.g. after a gate stopped: never wait on a dead store)."""
    kept = settings.home_dir / f"{KEPT_PREFIX}{run_id}.json"
    try:
        if kept.exists():
            return json.loads(kept.read_text())
        if read_lake:
            return json.loads(open_store(settings).get(lake.run_record_key(run_id)))
    except Exception:  # noqa: BLE001 - the alert goes out without it
        return None
    return None


def _stage_of(exc: BaseException | None) -> str | None:
    for note in getattr(exc, "__notes__", []) or []:
        if found := _STAGE.search(note):
            return found.group(1)
    return None


def _run_date(flow: str, params: dict[str, Any]) -> str | None:
    if flow == "backfill" or (flow == "replay" and params.get("end")):
        start, end = params.get("start") or params.get("run_date"), params.get("end")
        if not (start and end):
            return None
        return str(start) if str(start) == str(end) else f"{start}..{end}"
    day = params.get("run_date")
    return str(day) if day else ("the next date not yet published" if flow == "daily" else None)


def _report_day(flow: str, params: dict[str, Any], exc: GateFailed) -> str | None:
    """Where the flow wrote the report of a stop (flows/daily.py): the run date; in a backfill,
    the day being decided (the campaign gate's partition) or else the end of the range."""
    if flow == "daily":
        return params.get("run_date")
    if flow == "backfill":
        return exc.results[0].partition if exc.gate == "campaign" else params.get("end")
    return None


def _rerun(flow: str, params: dict[str, Any]) -> str:
    if flow == "daily":
        return f"couponflow daily --date {params['run_date']}" if params.get("run_date") else "couponflow daily"
    if flow == "backfill":
        return f"couponflow backfill --start {params.get('start')} --end {params.get('end')}"
    if flow == "replay":
        return f"couponflow daily --date {params.get('run_date') or params.get('start')} --replay"
    return f"couponflow {flow}"


def _fix(exc: BaseException | None, flow: str, params: dict[str, Any]) -> str:
    rerun = _rerun(flow, params)
    if isinstance(exc, StoreUnreachable):
        return f"bring the object store back (COUPONFLOW_S3_ENDPOINT_URL), then `{rerun}` (a scheduler retries)"
    if isinstance(exc, StoreMisconfigured):
        return f"fix the setting the line names (COUPONFLOW_S3_*), then `{rerun}`"
    return f"read the run record and the flow run's log, fix the cause, then `{rerun}` (a re-run finishes the job)"


def _where(settings: Settings, key: str) -> str:
    if settings.storage == "local":
        return str(settings.lake_dir / key)
    prefix = settings.s3_prefix.strip("/")
    return f"s3://{settings.s3_bucket}/{prefix + '/' if prefix else ''}{key}"


def _warn(message: str) -> None:
    from prefect import get_run_logger

    try:
        get_run_logger().warning(message)
    except MissingContextError:
        import logging

        logging.getLogger(__name__).warning(message)


__all__ = ["alert_on_failure", "failure_alert"]
