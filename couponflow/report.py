"""The operators' page for one run date: ``reports/date=D/`` (one self-contained HTML page).

It says at a glance whether the day's campaign is safe to send and, when a run stopped, which
data were wrong and what to do:

* **gates**: raw (the partitions of D-1 and the snapshots the decision reads, plus what the run
  landed), marts and campaign, each pass / warn / fail with its problems (the documented reason
  of a soft check, the fix of a hard one) and a link to its page in the GX Data Docs;
* **campaign**: recipients per campaign, budget used, expected redemptions and cost, control
  and exploration shares, reach and cost by demographic segment;
* **closed campaigns**: each of our campaigns whose window ended before D, measured against the
  lake: redemptions against expected, capture of the real redeemers, actual against expected
  cost, lift against the per-campaign holdout (n/a on recorded history) and off-policy values
  of today's champion (couponflow/outcomes.py);
* **model**: what the campaign manifest's ``model`` entry says (version, kind, hold-out metrics
  when a trained model is in use, ...);
* **plots** (matplotlib PNGs inlined as base64): score distribution, budget use, redemption trend.

The dataset holds ``index.html``, ``report.json`` (the same content as data) and ``gates.json``:
the gate results of the run date, from which the page and the Data Docs
(``reports/date=D/data-docs/``, built locally and uploaded, see ``expectations/docs.py``) are
rebuilt by ``couponflow report --date D``. A gate that did not run this time (a re-run that
reuses the published campaign, a run that landed nothing new) keeps its last results, unless
those come from a run that stopped.
Nothing on the page depends on the clock: the same inputs give the same bytes.
"""

from __future__ import annotations

import base64
import html
import io
import json
from datetime import date, timedelta
from typing import Any

import pandas as pd

from couponflow import manifest
from couponflow.config import Settings
from couponflow.contract import DAILY_TABLES, SNAPSHOT_TABLES, dated_prefix, raw_prefix
from couponflow.storage import ObjectStore
from expectations.runtime import GateResult

INDEX = "index.html"
DATA = "report.json"
GATES = "gates.json"
DOCS = "data-docs"
GATE_ORDER = ("raw", "marts", "campaign")
MAX_DATES = 8  # dates listed per aggregated raw problem


# -- reading the lake ------------------------------------------------------------------------

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


def load_gate_record(store: ObjectStore, run_date: date) -> dict[str, Any] | None:
    ds = manifest.read(store, dated_prefix("reports", run_date))
    if ds is None or not any(o["name"] == GATES for o in ds.objects):
        return None
    return json.loads(manifest.read_object(store, ds, GATES))


def _decisions(store: ObjectStore, run_date: date) -> pd.DataFrame | None:
    from couponflow.campaign import published_decisions

    found = published_decisions(store, run_date)
    return found[0] if found else None


def redemption_trend(settings: Settings, run_date: date) -> pd.DataFrame | None:
    """Redemptions per week dated before the run date (point in time: later data never shows)."""
    if not settings.warehouse_path.exists():
        return None
    from couponflow.warehouse import query_df

    try:
        return query_df(settings, """
            select date_trunc('week', redemption_date)::date as week, count(*) as redemptions,
                   count(distinct household_id) as households
            from staging.stg_coupon_redemptions where redemption_date < ?
            group by 1 order by 1
        """, [run_date])
    except Exception:  # noqa: BLE001 - an unbuilt or busy warehouse: the page says so
        return None


# -- the gate record of a run date -------------------------------------------------------------

def _aggregate_raw(results: list[GateResult]) -> dict[str, Any]:
    """Raw results of a (possibly year-long) landing, folded per problem."""
    problems: dict[tuple, dict[str, Any]] = {}
    tables: dict[str, int] = {}
    for r in results:
        tables[r.table] = tables.get(r.table, 0) + 1
        for c in r.checks:
            if c.success:
                continue
            p = problems.setdefault((r.table, c.check, c.column or "", c.status), {
                "table": r.table, "check": c.check, "column": c.column, "status": c.status,
                "partitions": [], "detail": c.detail, "reason": c.reason, "fix": c.fix})
            p["partitions"].append(r.partition)
    out = []
    for key in sorted(problems):
        p = problems[key]
        parts = sorted(p["partitions"])
        p.update(count=len(parts), partitions=parts[:MAX_DATES] + (["..."] if len(parts) > MAX_DATES else []))
        out.append(p)
    return {"partitions_gated": dict(sorted(tables.items())), "problems": out}


def _dedupe(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from expectations.docs import record_key

    seen: dict[tuple, dict[str, Any]] = {}
    for rec in records:
        seen.setdefault(record_key(rec), rec)
    return [seen[k] for k in sorted(seen)]


def gate_record(
    run_date: date,
    ran: dict[str, list[GateResult]] | None,
    failure: str | None,
    failed_gate: str | None,
    previous: dict[str, Any] | None,
) -> dict[str, Any]:
    """The gates of the run date: this run's results, else the last ones (see the module doc)."""
    ran = ran or {}
    stop = GATE_ORDER.index(failed_gate) if failed_gate in GATE_ORDER else len(GATE_ORDER)
    gates: dict[str, Any] = {}
    records: list[dict[str, Any]] = []
    for i, gate in enumerate(GATE_ORDER):
        results = ran.get(gate) or []
        if results:
            entry: dict[str, Any] = {"ran": True}
            if gate == "raw":
                entry.update(_aggregate_raw(results))
            else:
                entry["results"] = [r.to_dict() for r in results]
            gates[gate] = entry
            records += [v for r in results for v in r.validations]
        elif i <= stop and previous and not previous.get("failure") and previous["gates"].get(gate, {}).get("ran"):
            gates[gate] = previous["gates"][gate]
            records += [v for v in previous.get("validations", []) if v["meta"]["couponflow"]["gate"] == gate]
        else:
            gates[gate] = {"ran": False}
    return {"run_date": run_date.isoformat(), "failure": failure, "failed_gate": failed_gate,
            "gates": gates, "validations": _dedupe(records)}


# -- the report's content ------------------------------------------------------------------

def _status(checks: list[dict[str, Any]]) -> str:
    if any(not c["success"] and c["severity"] != "warning" for c in checks):
        return "fail"
    return "warn" if any(not c["success"] for c in checks) else "pass"


def _problems(checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"check": c["check"], "column": c["column"], "status": "fail" if c["severity"] != "warning" else "warn",
             "detail": c["detail"], "note": c.get("reason") or c.get("fix") or ""}
            for c in checks if not c["success"]]


def _page_for(pages: dict[tuple, str], record_index: list[dict[str, Any]], gate: str, table: str,
              partition: str) -> str | None:
    """The Data Docs page of the validation that covered (gate, table, partition)."""
    suite_pref = f"{gate}.{table}"
    for rec in record_index:
        cf = rec["meta"]["couponflow"]
        if cf["gate"] == gate and cf["table"] == table and (partition in cf["partitions"] or cf["label"] == partition):
            key = (rec["suite_name"], table, cf["label"])
            if key in pages and rec["suite_name"] == suite_pref:
                return f"{DOCS}/{pages[key]}"
    for rec in record_index:  # e.g. only the profile covered it
        cf = rec["meta"]["couponflow"]
        if cf["gate"] == gate and cf["table"] == table and partition in cf["partitions"]:
            key = (rec["suite_name"], table, cf["label"])
            if key in pages:
                return f"{DOCS}/{pages[key]}"
    return None


def gate_rows(store: ObjectStore, run_date: date, record: dict[str, Any], pages: dict[tuple, str]) -> dict[str, Any]:
    recs = record["validations"]
    rows = []
    for g in raw_gate_results(store, run_date):
        rows.append({"gate": "raw", "table": g["table"], "partition": g["partition"], "status": _status(g["checks"]),
                     "checks": len(g["checks"]), "problems": _problems(g["checks"]),
                     "docs": _page_for(pages, recs, "raw", g["table"], g["partition"])})
    for gate in ("marts", "campaign"):
        for g in record["gates"].get(gate, {}).get("results", []):
            rows.append({"gate": gate, "table": g["table"], "partition": g["partition"],
                         "status": _status(g["checks"]), "checks": len(g["checks"]),
                         "problems": _problems(g["checks"]),
                         "docs": _page_for(pages, recs, gate, g["table"], g["partition"])})
    raw = record["gates"].get("raw", {})
    landed = []
    for p in raw.get("problems", []):
        landed.append({**p, "docs": _page_for(pages, recs, "raw", p["table"], p["partitions"][0])})
    summary = {}
    for gate in GATE_ORDER:
        entry = record["gates"].get(gate, {})
        statuses = [r["status"] for r in rows if r["gate"] == gate]
        if gate == "raw":
            statuses += [p["status"] for p in landed]
        if not entry.get("ran") and not statuses:
            summary[gate] = "not run"
        else:
            summary[gate] = "fail" if "fail" in statuses else ("warn" if "warn" in statuses else "pass")
    if record.get("failed_gate") in summary:
        summary[record["failed_gate"]] = "fail"
    return {"summary": summary, "rows": rows, "landed": landed,
            "partitions_gated": raw.get("partitions_gated", {})}


SEGMENTS = ("age", "income", "kids_count")  # demographics known for about a third of households


def segment_rows(settings: Settings, dec: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Reach and expected cost of the day's sends by demographic segment (DESIGN.md: whether or
    not the model may use demographics, operators see whom the campaign reaches)."""
    if dec is None or dec.empty or not settings.warehouse_path.exists():
        return []
    from couponflow.warehouse import query_df

    hh = query_df(settings, f"select household_id, {', '.join(SEGMENTS)} from marts.households")
    d = dec.merge(hh, on="household_id", how="left")
    rows = []
    for col in SEGMENTS:
        segment = d[col].astype("string").fillna("unknown")
        for value, g in d.groupby(segment, sort=True):
            candidates, sends = int(g["household_id"].nunique()), int(g["chosen"].sum())
            rows.append({"dimension": col, "segment": str(value), "candidate_households": candidates,
                         "sends": sends, "reach": sends / candidates if candidates else None,
                         "expected_cost": round(float(g.loc[g["chosen"], "expected_cost"].sum()), 6)})
    return rows


def campaign_content(store: ObjectStore, settings: Settings, run_date: date) -> dict[str, Any] | None:
    ds = manifest.read(store, dated_prefix("campaigns", run_date))
    if ds is None:
        return None
    m = ds.manifest
    summary = m.get("summary", {})
    dec = _decisions(store, run_date)
    candidates_hh = int(dec["household_id"].nunique()) if dec is not None and len(dec) else 0
    control_hh = int(dec.loc[dec["status"] == "control", "household_id"].nunique()) if candidates_hh else 0
    sends = int(summary.get("sends", 0))
    explore = int(((dec["arm"] == "explore") & dec["chosen"]).sum()) if dec is not None and len(dec) else 0
    budget = float(summary.get("budget") or m.get("policy", {}).get("budget_per_day") or 0)
    cost = float(summary.get("expected_cost", 0))
    return {
        "campaigns": summary.get("campaigns", []),
        "sends": sends, "candidates": int(summary.get("candidates", 0)),
        "budget": budget, "expected_cost": cost,
        "budget_used_share": cost / budget if budget else None,
        "expected_redemptions": float(summary.get("expected_redemptions", 0)),
        "control_households": control_hh, "candidate_households": candidates_hh,
        "control_share": control_hh / candidates_hh if candidates_hh else None,
        "control_share_setting": m.get("policy", {}).get("control_share"),
        "explore_sends": explore, "explore_share": explore / sends if sends else None,
        "holdout": summary.get("holdout"),  # selected but held back to measure lift (when the policy has one)
        "note": summary.get("note", ""),
        "model": m.get("model") or {},
        "segments": segment_rows(settings, dec),
    }


def closed_content(store: ObjectStore, settings: Settings, run_date: date) -> dict[str, Any]:
    """Our campaigns whose window ended before the run date, measured against what the lake
    recorded (couponflow/outcomes.py); the champion of today is the off-policy target."""
    from couponflow.outcomes import closed_campaigns
    from couponflow.sources import get_source
    from models.registry import Registry
    from models.scoring import load_scorer

    if not settings.warehouse_path.exists():
        return {"campaigns": [], "note": "the warehouse is not built yet: nothing to measure"}
    registry = Registry(store)
    target = load_scorer(registry, registry.champion(), settings.prior_strength)
    history = bool(getattr(get_source(settings), "replays_history", False))
    rows = closed_campaigns(settings, store, run_date, replays_history=history, target=target)
    note = ("The source is recorded history: our sends reached nobody, so lift is n/a and the capture of the "
            "real redeemers is what shows how well we chose. " if history else "")
    return {"campaigns": rows, "history": history, "target_model": target.version,
            "note": note + "Off-policy values: what the champion of today would have redeemed sending as many "
                           "households as we did (its top scorers), from the logged propensities; support is the "
                           "share of its sends the logging policy could have made. The model learns from the "
                           "households the retailer chose: exploration is what lets it see the others."}


def build_report(
    store: ObjectStore, settings: Settings, run_date: date, record: dict[str, Any], pages: dict[tuple, str],
) -> dict[str, Any]:
    """The report's content (deterministic: no times or run ids)."""
    gates = gate_rows(store, run_date, record, pages)
    camp = campaign_content(store, settings, run_date)
    closed = None if record.get("failure") else closed_content(store, settings, run_date)
    warnings = len({(r["table"], p["check"], p["column"]) for r in gates["rows"] for p in r["problems"]
                    if p["status"] == "warn"} | {(p["table"], p["check"], p["column"]) for p in gates["landed"]
                                                 if p["status"] == "warn"})
    failure = record.get("failure")
    if failure:
        verdict = "STOPPED: nothing was published for this date"
    elif camp is None:
        verdict = "no campaign was published for this date"
    elif "fail" in gates["summary"].values():
        verdict = "do not send: a gate failed"
    elif camp["sends"] == 0:
        verdict = "nothing to send: " + (camp["note"] or "no household was chosen")
    else:
        verdict = "safe to send" + (f" ({warnings} warnings from soft checks; see data quality)" if warnings else "")
    return {"run_date": run_date.isoformat(), "verdict": verdict, "failure": failure,
            "failed_gate": record.get("failed_gate"), "gates": gates, "campaign": camp, "closed": closed,
            "data_docs": f"{DOCS}/index.html"}


# -- plots (matplotlib, PNG, inlined) --------------------------------------------------------

def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode()


def _figure(width: float = 6.4, height: float = 2.6):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return fig, fig.add_subplot(1, 1, 1)


def plots(store: ObjectStore, settings: Settings, run_date: date, report: dict[str, Any]) -> dict[str, str]:
    """Base64 PNGs by title; a plot whose data do not exist is left out."""
    out: dict[str, str] = {}
    dec = _decisions(store, run_date)
    if dec is not None and len(dec):
        fig, ax = _figure()
        groups = [("sent", dec[dec["chosen"]]), ("eligible, not chosen", dec[(dec["status"] == "eligible") & ~dec["chosen"]]),
                  ("control / inactive", dec[dec["status"] != "eligible"])]
        hi = max(float(dec["score"].max()), 1e-6)
        for (name, g), color in zip(groups, ("#1f6f3f", "#9aa5b1", "#d08c2c")):
            if len(g):
                ax.hist(g["score"], bins=40, range=(0, hi), alpha=0.75, label=f"{name} ({len(g)})", color=color)
        ax.set_xlabel("score: P(redeem)")
        ax.set_ylabel("candidates")
        ax.set_yscale("log")
        ax.legend(fontsize=8)
        fig.tight_layout()
        out["Score distribution"] = _png(fig)
    camp = report.get("campaign")
    if camp and camp["campaigns"]:
        fig, ax = _figure(height=1.6)
        left = 0.0
        for i, c in enumerate(camp["campaigns"]):
            ax.barh([0], [c["expected_cost"]], left=left, label=f"campaign {c['campaign_id']}",
                    color=["#1f6f3f", "#3d8fb8", "#8a5fb0", "#c0604a"][i % 4])
            left += c["expected_cost"]
        ax.barh([0], [max(camp["budget"] - left, 0)], left=left, color="#e6e6e6", label="unused")
        ax.axvline(camp["budget"], color="#b00020", linestyle="--", linewidth=1)
        ax.set_yticks([])
        ax.set_xlabel(f"expected cost of the sends vs the budget ({camp['budget']:.2f})", fontsize=9)
        ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
        fig.tight_layout()
        out["Budget use"] = _png(fig)
    trend = redemption_trend(settings, run_date)
    if trend is not None and len(trend):
        fig, ax = _figure()
        ax.plot(pd.to_datetime(trend["week"]), trend["redemptions"], color="#3d8fb8", marker=".", linewidth=1)
        ax.set_ylabel("redemptions / week")
        ax.set_title(f"coupon redemptions before {run_date.isoformat()}", fontsize=9)
        fig.autofmt_xdate()
        fig.tight_layout()
        out["Redemption trend"] = _png(fig)
    return out


# -- HTML ------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:1.5em 2em;color:#222;max-width:1100px}
h1{font-size:1.5em;margin-bottom:.2em} h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.4em 0} td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;
text-align:left;vertical-align:top} th{background:#f4f4f4}
.verdict{font-size:1.2em;padding:.5em .8em;border-radius:4px;display:inline-block}
.v-ok{background:#e3f4e8;color:#176f2c} .v-bad{background:#fde7ea;color:#b00020} .v-none{background:#f0f0f0}
.pass{color:#176f2c;font-weight:bold} .warn{color:#a06000;font-weight:bold} .fail{color:#b00020;font-weight:bold}
.notrun{color:#777} .note{color:#555;font-size:12px} .failure{color:#b00020;font-weight:bold}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px} dt{color:#555} dd{margin:0}
img{display:block;margin:.3em 0 1em 0;border:1px solid #eee}
"""


def _fmt(v: Any, digits: int = 2) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def _link(href: str | None, text: str = "data docs") -> str:
    return f"<a href='{html.escape(href)}'>{text}</a>" if href else ""


def _model_html(model: dict[str, Any]) -> str:
    e = html.escape
    if not model:
        return "<p>No model is recorded for this date.</p>"
    items = []
    for key in sorted(model):
        value = model[key]
        if isinstance(value, dict):
            shown = ", ".join(f"{e(str(k))} = {e(_fmt(v, 4))}" for k, v in sorted(value.items())) or "none yet"
        else:
            shown = e(_fmt(value, 4))
        items.append(f"<dt>{e(str(key))}</dt><dd>{shown}</dd>")
    return f"<dl>{''.join(items)}</dl>"


def _interval(est: dict[str, float] | None, note: str, digits: int = 2) -> str:
    if not est:
        return f"<span title='{html.escape(note)}'>n/a</span>"
    return f"{est['value']:+.{digits}f} [{est['low']:+.{digits}f}, {est['high']:+.{digits}f}]"


def _closed_html(closed: dict[str, Any] | None) -> str:
    e = html.escape
    if closed is None:
        return "<p>Not measured: the run stopped.</p>"
    if not closed["campaigns"]:
        return f"<p>{e(closed.get('note') or 'No campaign of ours has closed before this date.')}</p>"
    rows = []
    for c in closed["campaigns"]:
        op = c.get("off_policy") or {}
        ratio = c["actual_over_expected_cost"]
        rows.append(
            f"<tr><td>{c['campaign_id']}</td><td>{e(c['mode'])}</td><td>{e(c['decided_on'])}</td>"
            f"<td>{e(c['window_end'])}</td><td>{e(str(c['model']))}</td>"
            f"<td>{c['sends']} ({c['explore_sends']} / {c['holdout']})</td>"
            f"<td>{c['redeemed']} / {c['expected_redemptions']:.1f}</td>"
            f"<td>{_pct(c['redemption_rate'])} / {_pct(c['holdout_redemption_rate'])}</td>"
            f"<td><b>{_pct(c['capture'])}</b> of {c['redeemers_among_candidates']}</td>"
            f"<td>{c['actual_cost']:.2f} / {c['expected_cost']:.2f} ({_fmt(ratio)}x)</td>"
            f"<td>{_interval(c['lift_spend'], c['lift_note'])}</td>"
            f"<td>{_interval(c['lift_redemption_rate'], c['lift_note'], 3)}</td>"
            + (f"<td>{op['ips']:.1f} / {op['snips']:.1f} / {op['doubly_robust']:.1f} ({_pct(op['support'])})</td>"
               if op else "<td>n/a</td>") + "</tr>")
    lift_note = next((c["lift_note"] for c in closed["campaigns"] if c["lift_note"]), "")
    return (
        f"<p class='note'>{e(closed['note'])}</p>"
        + (f"<p>Lift: {e(lift_note)}.</p>" if lift_note else "")
        + "<table><tr><th>campaign</th><th>mode</th><th>decided on</th><th>window end</th><th>model</th>"
          "<th>sends (explore / holdout)</th><th>redeemed / expected</th><th>redemption rate sent / holdout</th>"
          "<th>capture of real redeemers</th><th>cost actual / expected</th><th>lift: spend on coupon products</th>"
          "<th>lift: redemption rate</th>"
          f"<th>off-policy, {e(str(closed.get('target_model')))} top: IPS / SNIPS / DR (support)</th></tr>"
        + "".join(rows) + "</table>"
    )


def render_html(report: dict[str, Any], images: dict[str, str]) -> str:
    e = html.escape
    g = report["gates"]
    verdict_cls = ("v-bad" if report["failure"] or report["verdict"].startswith("do not") else
                   "v-ok" if report["verdict"].startswith(("safe", "nothing")) else "v-none")
    failure = f"<p class='failure'>{e(report['failure'])}</p>" if report["failure"] else ""
    status_cls = {"pass": "pass", "warn": "warn", "fail": "fail", "not run": "notrun"}
    summary = "".join(
        f"<tr><td>{gate}</td><td class='{status_cls[s]}'>{s.upper()}</td></tr>" for gate, s in g["summary"].items())

    def problems(ps: list[dict[str, Any]]) -> str:
        return "<br>".join(
            f"<span class='{p['status']}'>{p['status']}</span> {e(p['check'])} {e(p['column'] or '')}: "
            f"{e(p['detail'][:300])}<br><span class='note'>{e(p['note'][:400])}</span>" for p in ps)

    rows = "".join(
        f"<tr><td>{e(r['gate'])}</td><td>{e(r['table'])}</td><td>{e(r['partition'])}</td>"
        f"<td class='{r['status']}'>{r['status'].upper()}</td><td>{r['checks']}</td>"
        f"<td>{problems(r['problems'])}</td><td>{_link(r['docs'])}</td></tr>" for r in g["rows"])
    landed = ""
    if g["partitions_gated"] or g["landed"]:
        gated = ", ".join(f"{e(t)} {n}" for t, n in g["partitions_gated"].items())
        lrows = "".join(
            f"<tr><td>{e(p['table'])}</td><td class='{p['status']}'>{p['status'].upper()}</td>"
            f"<td>{e(p['check'])} {e(p['column'] or '')}</td><td>{p['count']}</td>"
            f"<td>{e(', '.join(p['partitions']))}</td><td>{e(p['detail'][:200])}<br>"
            f"<span class='note'>{e((p['reason'] or p['fix'])[:400])}</span></td><td>{_link(p['docs'])}</td></tr>"
            for p in g["landed"])
        landed = (f"<h3>Partitions gated by the run that landed this date's data</h3><p>{gated or 'none'}</p>"
                  + ("<table><tr><th>table</th><th>status</th><th>check</th><th>partitions</th><th>dates</th>"
                     f"<th>detail</th><th></th></tr>{lrows}</table>" if lrows else "<p>No problems.</p>"))

    camp = report["campaign"]
    if camp:
        per = "".join(
            f"<tr><td>{c['campaign_id']}</td><td>{e(str(c.get('campaign_type', '')))}</td><td>{c.get('planned_size', '')}</td>"
            f"<td>{c.get('candidates', '')}</td><td>{c.get('eligible', '')}</td><td>{c.get('control', '')}</td>"
            f"<td><b>{c['sends']}</b></td><td>{c['expected_redemptions']:.2f}</td><td>{c['expected_cost']:.2f}</td></tr>"
            for c in camp["campaigns"])
        explore = (_pct(camp["explore_share"]) + (" (the policy in use does not explore yet)"
                                                  if not camp["explore_sends"] else ""))
        campaign_html = (
            f"<dl><dt>recipients</dt><dd><b>{camp['sends']}</b> of {camp['candidates']} candidate pairs</dd>"
            f"<dt>budget used</dt><dd>{camp['expected_cost']:.2f} of {camp['budget']:.2f} "
            f"({_pct(camp['budget_used_share'])})</dd>"
            f"<dt>expected redemptions</dt><dd>{camp['expected_redemptions']:.2f}</dd>"
            f"<dt>expected cost</dt><dd>{camp['expected_cost']:.2f}</dd>"
            f"<dt>control group</dt><dd>{camp['control_households']} of {camp['candidate_households']} candidate "
            f"households ({_pct(camp['control_share'])}; setting {_pct(camp['control_share_setting'])})</dd>"
            f"<dt>exploration</dt><dd>{explore}</dd>"
            + (f"<dt>holdout</dt><dd>{camp['holdout']} selected pairs held back to measure lift</dd>"
               if camp.get("holdout") is not None else "")
            + "</dl>"
            + (f"<p>{e(camp['note'])}</p>" if camp["note"] else "")
            + ("<table><tr><th>campaign</th><th>type</th><th>planned</th><th>candidates</th><th>eligible</th>"
               f"<th>control</th><th>sends</th><th>exp. redemptions</th><th>exp. cost</th></tr>{per}</table>"
               if per else "")
        )
        seg = "".join(
            f"<tr><td>{e(r['dimension'])}</td><td>{e(r['segment'])}</td><td>{r['candidate_households']}</td>"
            f"<td>{r['sends']}</td><td>{_pct(r['reach'])}</td><td>{r['expected_cost']:.2f}</td></tr>"
            for r in camp.get("segments", []))
        if seg:
            campaign_html += ("<h3>Reach and cost by segment</h3><table><tr><th>dimension</th><th>segment</th>"
                              "<th>candidate households</th><th>sends</th><th>reach</th><th>exp. cost</th></tr>"
                              f"{seg}</table>")
        model_html = _model_html(camp["model"])
    else:
        campaign_html = "<p>No campaign was published for this date.</p>"
        model_html = "<p>No campaign, so no model, for this date.</p>"
    closed_html = _closed_html(report.get("closed"))
    imgs = "".join(f"<h3>{e(t)}</h3><img alt='{e(t)}' src='data:image/png;base64,{b}'>" for t, b in images.items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>couponflow {report['run_date']}</title>
<style>{_CSS}</style>
</head><body>
<h1>couponflow &middot; run date {report['run_date']}</h1>
<p class="verdict {verdict_cls}">{e(report['verdict'])}</p>{failure}
<h2>Gates</h2>
<table><tr><th>gate</th><th>status</th></tr>{summary}</table>
<p>{_link(report['data_docs'], 'Great Expectations Data Docs of this run')}</p>
<h2>Campaign</h2>{campaign_html}
<h2>Closed campaigns</h2>{closed_html}
<h2>Model</h2>{model_html}
<h2>Plots</h2>{imgs or '<p>No data to plot for this date.</p>'}
<h2>Data quality</h2>
<table><tr><th>gate</th><th>table</th><th>partition</th><th>status</th><th>checks</th><th>problems</th><th></th></tr>{rows}</table>
{landed}
</body></html>
"""


# -- writing it --------------------------------------------------------------------------------

def write_report(
    settings: Settings,
    store: ObjectStore,
    run_date: date,
    ran: dict[str, list[GateResult]] | None = None,
    failure: str | None = None,
    failed_gate: str | None = None,
    *,
    reuse: bool = False,
) -> manifest.Dataset:
    """Build the Data Docs and the page of ``run_date`` and publish both (reports are derived,
    so a rebuilt report replaces the previous one). With ``reuse`` an existing report of a run
    that did not stop is kept as it is (a re-run that reuses the published campaign)."""
    from expectations.docs import build_data_docs, publish_data_docs

    prefix = dated_prefix("reports", run_date)
    previous = load_gate_record(store, run_date)
    if reuse and ran is None and failure is None and previous is not None and not previous.get("failure"):
        existing = manifest.read(store, prefix)
        if existing is not None and manifest.read(store, f"{prefix}/{DOCS}") is not None:
            return existing
    record = gate_record(run_date, ran, failure, failed_gate, previous)
    docs_dir = settings.work_dir / DOCS / f"date={run_date.isoformat()}"
    pages = build_data_docs(record["validations"], docs_dir, run_date)
    publish_data_docs(store, f"{prefix}/{DOCS}", docs_dir, run_date)
    content = build_report(store, settings, run_date, record, pages)
    page = render_html(content, plots(store, settings, run_date, content))
    return manifest.publish(
        store, prefix,
        {INDEX: page.encode(), DATA: manifest.to_json_bytes(content), GATES: manifest.to_json_bytes(record)},
        {"kind": "report", "run_date": run_date.isoformat()}, force=True,
    )
