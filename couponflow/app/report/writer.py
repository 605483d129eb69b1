"""Writing the operators' report of one run date: read the lake and the warehouse, build the
content (``content.py``), the plots (``plots.py``) and the page (``render.py``), build the Data
Docs locally (``expectations.docs``) and publish everything under ``reports/date=D/``.

The dataset holds ``index.html``, ``report.json`` (the same content as data) and ``gates.json``:
the gate results of the run date, from which the page and the Data Docs are rebuilt by
``couponflow report --date D``. The raw gate's part is read from the lake (``raw_section``), so
a run killed during its catch-up and re-run reports what an undisturbed run reports. Reports
are derived, so a rebuilt report replaces the previous one. Nothing on the page depends on the
clock: the same inputs give the same bytes.
"""

from __future__ import annotations

import contextlib
import json
import logging
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from couponflow.app.history_inputs import load_scorer
from couponflow.app.outcomes import closed_campaigns
from couponflow.app.publishing import published_decisions
from couponflow.app.report import raw_docs, raw_section
from couponflow.app.report.content import SEGMENTS, ClosedInputs, ReportInputs, build_report
from couponflow.app.report.gates import gate_record, raw_entry
from couponflow.app.report.monitoring_inputs import alert_breaches, monitoring_inputs, previous_breaches
from couponflow.app.report.plots import plots
from couponflow.app.report.render import render_html
from couponflow.app.report.segment_inputs import segment_inputs
from couponflow.platform import data_dictionary, manifest, snapshots
from couponflow.platform.contract import DAILY_TABLES, SNAPSHOT_TABLES
from couponflow.platform.gate_results import GateResult
from couponflow.platform.lake import (
    CAMPAIGNS,
    DATA_DOCS,
    GATES,
    REPORT_DATA,
    REPORT_GATES,
    REPORT_PAGE,
    REPORTS,
    VALIDATION,
    data_dictionary_prefix,
    dated_prefix,
    raw_prefix,
)
from couponflow.platform.resources import Resources
from couponflow.platform.storage import ObjectStore
from couponflow.platform.warehouse import WarehouseError
from expectations.docs import build_data_docs, build_partition_pages, docs_files
from models.registry import Registry

log = logging.getLogger(__name__)


def raw_gate_results(store: ObjectStore, run_date: date) -> list[dict[str, Any]]:
    """The published raw-gate results of the data that ``daily(run_date)`` decides on."""
    out = []
    prefixes = [raw_prefix(t.name, run_date - timedelta(days=1)) for t in DAILY_TABLES]
    prefixes += [p for t in SNAPSHOT_TABLES if (p := snapshots.prefix_on(store, t.name, run_date - timedelta(days=1)))]
    for prefix in prefixes:
        ds = manifest.read(store, prefix)
        if ds is not None and any(o["name"] == VALIDATION for o in ds.objects):
            out.append(json.loads(manifest.read_object(store, ds, VALIDATION)))
    return out


def load_gate_record(store: ObjectStore, run_date: date) -> dict[str, Any] | None:
    """The gate record of ``run_date``: the one published before its campaign (``gates/date=D``),
    else the one in its report (a stopped run's, or a report older than ``gates/``)."""
    for prefix in (dated_prefix(GATES, run_date), dated_prefix(REPORTS, run_date)):
        ds = manifest.read(store, prefix)
        if ds is not None and any(o["name"] == REPORT_GATES for o in ds.objects):
            return json.loads(manifest.read_object(store, ds, REPORT_GATES))
    return None


def publish_gate_record(
    store: ObjectStore, run_date: date, ran: dict[str, list[GateResult]], late: dict[str, Any] | None = None
) -> manifest.Dataset:
    """Publish the passing gates of ``run_date`` before its campaign: a run that dies between the
    campaign and its report, then a re-run that reuses the campaign, reports the gates that let
    it through instead of "not run" under "safe to send". ``late``: the date was decided after
    it began (``{"decided_on": S, "days": n}``, a scheduled catch-up); the report shows it."""
    no_records: list[dict[str, Any]] = []  # the raw Data Docs are the report's (revalidated_records)
    raw = (raw_entry(raw_section.lake_results(store, run_date)), no_records)
    record = gate_record(run_date, ran, None, None, load_gate_record(store, run_date), raw)
    record["late"] = late
    return manifest.publish(
        store,
        dated_prefix(GATES, run_date),
        {REPORT_GATES: manifest.to_json_bytes(record)},
        {"kind": "gates", "run_date": run_date.isoformat()},
        force=True,
    )


def _redemption_trend(res: Resources, run_date: date) -> pd.DataFrame | None:
    """Redemptions per week dated before the run date (point in time: later data never shows)."""
    try:
        return res.warehouse.query(
            """
            select date_trunc('week', redemption_date)::date as week, count(*) as redemptions,
                   count(distinct household_id) as households
            from staging.stg_coupon_redemptions where redemption_date < ?
            group by 1 order by 1
        """,
            [run_date],
        )
    except Exception:  # noqa: BLE001 - an unbuilt or busy warehouse: the page says so
        return None


def _closed(res: Resources, run_date: date) -> ClosedInputs:
    """Our closed campaigns measured against the lake; today's champion is the off-policy target."""
    registry = Registry(res.store)
    target = load_scorer(res.warehouse, registry, registry.champion(), res.settings.prior_strength)
    answers = res.source.answers_our_sends  # DESIGN, honest lift: else lift is n/a
    rows = closed_campaigns(res, run_date, answers_our_sends=answers, target=target)
    return ClosedInputs(rows, not answers, target.version)


def publish_data_docs(store: ObjectStore, prefix: str, out_dir: Path, run_date: date) -> manifest.Dataset:
    """Upload a built site under ``prefix`` (data first, manifest last; replaces an older site,
    whose pages that the new one lacks are then removed)."""
    files = docs_files(out_dir)
    ds = manifest.publish(store, prefix, files, {"kind": "data-docs", "run_date": run_date.isoformat()}, force=True)
    keep = {f"{prefix}/{name}" for name in files} | {f"{prefix}/{manifest.MANIFEST}"}
    for key in store.list(f"{prefix}/"):
        if key not in keep:
            store.delete(key)
    return ds


def publish_data_dictionary(res: Resources) -> str | None:
    """Publish dbt's docs of the built warehouse once per content (``data_dictionary``) and return
    its digest; None when nothing is built yet or dbt cannot generate them (the page then has no
    link, and the error is logged)."""
    digest = data_dictionary.dictionary_key(res.settings)
    if digest is None:
        return None
    prefix = data_dictionary_prefix(digest)
    if manifest.read(res.store, prefix) is None:
        try:
            page = data_dictionary.build_page(res.settings)
        except WarehouseError as exc:
            log.warning("no data dictionary for this report: %s", exc)
            return None
        manifest.publish(res.store, prefix, {REPORT_PAGE: page}, {"kind": "data-dictionary", "digest": digest})
    return digest


RAW_DOCS_CACHE = "raw-docs-cache"  # HOME/work/: each partition's page, rendered once per content


def raw_partition_records(res: Resources, run_date: date, failed_gate: str | None) -> list[dict[str, Any]]:
    """GX's record of every daily partition the report covers (``raw_docs``); none when the raw
    gate stopped the run (its partitions are in quarantine, not in the lake)."""
    return [] if failed_gate == "raw" else raw_docs.partition_records(res.store, res.source, run_date)


def write_report(
    res: Resources,
    run_date: date,
    ran: dict[str, list[GateResult]] | None = None,
    failure: str | None = None,
    failed_gate: str | None = None,
    *,
    reuse: bool = False,
) -> manifest.Dataset:
    """Build the Data Docs and the page of ``run_date`` and publish both. With ``reuse`` an
    existing report of a run that did not stop is kept as it is (a re-run that reuses the
    published campaign)."""
    store = res.store
    prefix = dated_prefix(REPORTS, run_date)
    previous = load_gate_record(store, run_date)
    if reuse and ran is None and failure is None and previous is not None and not previous.get("failure"):
        existing = manifest.read(store, prefix)
        if existing is not None and manifest.read(store, f"{prefix}/{DATA_DOCS}") is not None:
            return existing
    raw = None
    if failed_gate != "raw":  # the raw gate as the lake holds it, whichever runs landed the data
        raw = (
            raw_entry(raw_section.lake_results(store, run_date)),
            raw_section.revalidated_records(store, res.source, run_date),
        )
    record = gate_record(run_date, ran, failure, failed_gate, previous, raw)
    record["late"] = (previous or {}).get("late") if failure is None else None
    docs_dir = res.settings.work_dir / DATA_DOCS / f"date={run_date.isoformat()}"
    pages = build_data_docs(record["validations"], docs_dir, run_date)
    # every covered daily partition's own page (raw_docs); gates.json keeps the rows' records only
    partitions = raw_partition_records(res, run_date, failed_gate)
    pages.update(build_partition_pages(partitions, docs_dir, res.settings.work_dir / RAW_DOCS_CACHE))
    shown = {**record, "validations": record["validations"] + partitions}
    publish_data_docs(store, f"{prefix}/{DATA_DOCS}", docs_dir, run_date)

    dictionary = publish_data_dictionary(res) if res.warehouse.exists else None
    campaign = manifest.read(store, dated_prefix(CAMPAIGNS, run_date))
    found = published_decisions(store, run_date)
    decisions = found[0] if found else None
    built = res.warehouse.exists
    with res.warehouse.session() if built else contextlib.nullcontext():
        households = (
            res.warehouse.query(f"select household_id, {', '.join(SEGMENTS)} from marts.households")
            if built and decisions is not None and not decisions.empty
            else None
        )
        closed = None if record.get("failure") else (_closed(res, run_date) if built else ClosedInputs(None))
        monitoring = (
            None
            if record.get("failure") or not built
            else monitoring_inputs(res, run_date, campaign.manifest if campaign else None, decisions)
        )
        content = build_report(
            ReportInputs(
                run_date,
                shown,
                pages,
                raw_gate_results(store, run_date),
                campaign.manifest if campaign else None,
                decisions,
                households,
                closed,
                dictionary,
                monitoring,
                None if record.get("failure") or not built else segment_inputs(res, run_date, decisions),
            )
        )
        trend = _redemption_trend(res, run_date) if built else None
    page = render_html(content, plots(run_date, content, decisions, trend))
    already = previous_breaches(store, run_date)  # once per run date and monitor
    published = manifest.publish(
        store,
        prefix,
        {
            REPORT_PAGE: page.encode(),
            REPORT_DATA: manifest.to_json_bytes(content),
            REPORT_GATES: manifest.to_json_bytes(record),
        },
        {"kind": "report", "run_date": run_date.isoformat()},
        force=True,
    )
    alert_breaches(res, run_date, content, already)
    return published
