"""The operators' page for one run date: ``reports/date=D/index.html`` plus its data as JSON.

It says at a glance whether the day's campaign is safe to send: the raw gate's results for the
data the day used (the partitions of D-1 and the snapshots), the campaign (recipients per
campaign, budget used, expected redemptions and cost, control share) and the model in use.
When a gate stopped the run, the page says which table and check failed and how to fix it.
"""

from __future__ import annotations

import html
import json
from datetime import date, timedelta
from typing import Any

from couponflow import manifest
from couponflow.contract import DAILY_TABLES, SNAPSHOT_TABLES, dated_prefix, raw_prefix
from couponflow.storage import ObjectStore

INDEX = "index.html"
DATA = "report.json"


def raw_gate_results(store: ObjectStore, run_date: date) -> list[dict[str, Any]]:
    """The published raw-gate results of the data that ``daily(run_date)`` decides on."""
    out = []
    prefixes = [raw_prefix(t.name, run_date - timedelta(days=1)) for t in DAILY_TABLES]
    prefixes += [raw_prefix(t.name, None) for t in SNAPSHOT_TABLES]
    for prefix in prefixes:
        ds = manifest.read(store, prefix)
        if ds is not None and any(o["name"] == "validation.json" for o in ds.objects):
            out.append(json.loads(manifest.read_object(store, ds, "validation.json")))
    return out


def build_report(
    run_date: date,
    gates: list[dict[str, Any]],
    campaign: dict[str, Any] | None,
    failure: str | None = None,
) -> dict[str, Any]:
    """The report's content (deterministic: no times or run ids)."""
    gate_rows = []
    for g in gates:
        failed = [c for c in g["checks"] if not c["success"] and c["severity"] != "warning"]
        warned = [c for c in g["checks"] if not c["success"] and c["severity"] == "warning"]
        gate_rows.append({
            "gate": g["gate"], "table": g["table"], "partition": g["partition"],
            "status": "fail" if failed else ("warn" if warned else "pass"),
            "checks": len(g["checks"]),
            "problems": [f"{c['check']} {c['column'] or ''}: {c['detail']}" for c in failed + warned],
        })
    if failure:
        verdict = "STOPPED: nothing was published for this date"
    elif campaign is None:
        verdict = "no campaign"
    else:
        verdict = "safe to send" if all(r["status"] != "fail" for r in gate_rows) else "do not send"
    return {"run_date": run_date.isoformat(), "verdict": verdict, "failure": failure,
            "gates": gate_rows, "campaign": campaign}


def render_html(report: dict[str, Any]) -> str:
    e = html.escape
    rows = "".join(
        f"<tr class='{r['status']}'><td>{e(r['gate'])}</td><td>{e(r['table'])}</td><td>{e(r['partition'])}</td>"
        f"<td>{r['status'].upper()}</td><td>{r['checks']}</td><td>{'<br>'.join(e(p[:300]) for p in r['problems'])}</td></tr>"
        for r in report["gates"]
    )
    camp = report["campaign"] or {}
    summary = camp.get("summary", {})
    model = camp.get("model", {})
    per = "".join(
        f"<tr><td>{c['campaign_id']}</td><td>{e(c['campaign_type'])}</td><td>{c['planned_size']}</td>"
        f"<td>{c['candidates']}</td><td>{c['eligible']}</td><td>{c['control']}</td><td>{c['sends']}</td>"
        f"<td>{c['expected_redemptions']:.2f}</td><td>{c['expected_cost']:.2f}</td></tr>"
        for c in summary.get("campaigns", [])
    )
    failure = f"<p class='fail'><b>{e(report['failure'])}</b></p>" if report["failure"] else ""
    campaign_html = (
        f"<p>Sends: <b>{summary.get('sends', 0)}</b> &middot; budget {summary.get('budget', 0):.2f}, "
        f"expected cost {summary.get('expected_cost', 0):.2f} &middot; expected redemptions "
        f"{summary.get('expected_redemptions', 0):.2f} &middot; households in control "
        f"{summary.get('households_in_control', 0)}</p>"
        f"<p>{e(summary.get('note', ''))}</p>"
        "<table><tr><th>campaign</th><th>type</th><th>planned</th><th>candidates</th><th>eligible</th>"
        f"<th>control</th><th>sends</th><th>exp. redemptions</th><th>exp. cost</th></tr>{per}</table>"
        f"<h2>Model</h2><p>{e(model.get('version', '-'))} ({e(model.get('kind', ''))}): "
        f"{e(model.get('description', ''))}{' &middot; cold start' if model.get('cold_start') else ''}</p>"
        if camp else "<p>No campaign was published for this date.</p>"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>couponflow {report['run_date']}</title>
<style>body{{font-family:sans-serif;margin:2em;color:#222}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}}
.pass td:nth-child(4){{color:#176f2c}} .warn td:nth-child(4){{color:#a06000}} .fail,.fail td:nth-child(4){{color:#b00020}}</style>
</head><body>
<h1>couponflow &middot; run date {report['run_date']}</h1>
<p>Verdict: <b>{e(report['verdict'])}</b></p>{failure}
<h2>Campaign</h2>{campaign_html}
<h2>Data quality</h2>
<table><tr><th>gate</th><th>table</th><th>partition</th><th>status</th><th>checks</th><th>problems</th></tr>{rows}</table>
</body></html>
"""


def publish_report(store: ObjectStore, report: dict[str, Any]) -> manifest.Dataset:
    """Reports are derived, so a rebuilt report replaces the previous one."""
    day = date.fromisoformat(report["run_date"])
    return manifest.publish(
        store, dated_prefix("reports", day),
        {INDEX: render_html(report).encode(), DATA: manifest.to_json_bytes(report)},
        {"kind": "report", "run_date": report["run_date"]}, force=True,
    )
