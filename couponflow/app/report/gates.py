"""The gate part of the report (pure): this run's gate results folded into the record of the run
date, and that record turned into the rows operators read, each linked to its Data Docs page.
The raw gate comes from the lake (``raw_section``), except in the report of a run it stopped.

A gate that did not run this time (a re-run that reuses the published campaign, a run that
landed nothing new) keeps its last results, unless those come from a run that stopped.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import date
from typing import Any

from couponflow.platform.gate_results import GateResult
from couponflow.platform.lake import DATA_DOCS
from expectations.docs import record_key

GATE_ORDER = ("raw", "marts", "campaign")
MAX_DATES = 8  # dates listed per aggregated raw problem


def _aggregate_raw(results: list[GateResult]) -> dict[str, Any]:
    """Raw results of a (possibly year-long) landing, folded per problem."""
    problems: dict[tuple, dict[str, Any]] = {}
    tables: dict[str, int] = {}
    for r in results:
        tables[r.table] = tables.get(r.table, 0) + 1
        for c in r.checks:
            if c.success:
                continue
            p = problems.setdefault(
                (r.table, c.check, c.column or "", c.status),
                {
                    "table": r.table,
                    "check": c.check,
                    "column": c.column,
                    "status": c.status,
                    "partitions": [],
                    "detail": c.detail,
                    "reason": c.reason,
                    "fix": c.fix,
                },
            )
            p["partitions"].append(r.partition)
    out = []
    for key in sorted(problems):
        p = problems[key]
        parts = sorted(p["partitions"])
        p.update(count=len(parts), partitions=parts[:MAX_DATES] + (["..."] if len(parts) > MAX_DATES else []))
        out.append(p)
    return {"partitions_gated": dict(sorted(tables.items())), "problems": out}


def _dedupe(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[tuple, dict[str, Any]] = {}
    for rec in records:
        seen.setdefault(record_key(rec), rec)
    return [seen[k] for k in sorted(seen)]


def raw_entry(results: list[GateResult]) -> dict[str, Any]:
    """The raw gate's entry of a record, from the results the lake holds (``raw_section``)."""
    return {"ran": True, **_aggregate_raw(results)} if results else {"ran": False}


def gate_record(
    run_date: date,
    ran: dict[str, list[GateResult]] | None,
    failure: str | None,
    failed_gate: str | None,
    previous: dict[str, Any] | None,
    raw: tuple[dict[str, Any], list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """The gates of the run date: this run's results, else the last ones (see the module doc).

    ``raw`` (entry, GX records) is the raw gate as the lake holds it (``raw_section``): it
    replaces what this run remembers, unless the raw gate itself stopped the run (its failing
    partitions are in quarantine, not in the lake)."""
    ran = ran or {}
    stop = GATE_ORDER.index(failed_gate) if failed_gate in GATE_ORDER else len(GATE_ORDER)
    gates: dict[str, Any] = {}
    records: list[dict[str, Any]] = []
    for i, gate in enumerate(GATE_ORDER):
        results = ran.get(gate) or []
        if gate == "raw" and raw is not None and failed_gate != "raw":
            gates[gate], raw_records = raw
            records += raw_records
        elif results:
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
    return {
        "run_date": run_date.isoformat(),
        "failure": failure,
        "failed_gate": failed_gate,
        "gates": gates,
        "validations": _dedupe(records),
    }


def _status(checks: list[dict[str, Any]]) -> str:
    if any(not c["success"] and c["severity"] != "warning" for c in checks):
        return "fail"
    return "warn" if any(not c["success"] for c in checks) else "pass"


def _problems(checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "check": c["check"],
            "column": c["column"],
            "status": "fail" if c["severity"] != "warning" else "warn",
            "detail": c["detail"],
            "note": c.get("reason") or c.get("fix") or "",
        }
        for c in checks
        if not c["success"]
    ]


def _page_for(
    pages: dict[tuple, str], record_index: list[dict[str, Any]], gate: str, table: str, partition: str
) -> str | None:
    """The Data Docs page of the validation that covered (gate, table, partition)."""
    suite_pref = f"{gate}.{table}"
    for rec in record_index:
        cf = rec["meta"]["couponflow"]
        if cf["gate"] == gate and cf["table"] == table and (partition in cf["partitions"] or cf["label"] == partition):
            key = (rec["suite_name"], table, cf["label"])
            if key in pages and rec["suite_name"] == suite_pref:
                return f"{DATA_DOCS}/{pages[key]}"
    for rec in record_index:  # e.g. only the profile covered it
        cf = rec["meta"]["couponflow"]
        if cf["gate"] == gate and cf["table"] == table and partition in cf["partitions"]:
            key = (rec["suite_name"], table, cf["label"])
            if key in pages:
                return f"{DATA_DOCS}/{pages[key]}"
    return None


def _problem_page(
    pages: dict[tuple, str], recs: list[dict[str, Any]], problem: dict[str, Any], partition: str
) -> str | None:
    """The page of the partition's own validation that holds the problem's expectation (the row
    suite's or the profile's), else the page that covered it."""
    for rec in recs:
        cf = rec["meta"]["couponflow"]
        if cf["gate"] != "raw" or cf["table"] != problem["table"] or cf["label"] != partition:
            continue
        for r in rec["results"]:
            cfg = r["expectation_config"]
            if cfg["type"] == problem["check"] and cfg["kwargs"].get("column") == problem["column"]:
                key = record_key(rec)
                if key in pages:
                    return f"{DATA_DOCS}/{pages[key]}"
    return _page_for(pages, recs, "raw", problem["table"], partition)


def _is_day(label: str) -> bool:
    with suppress(ValueError):
        date.fromisoformat(label)
        return True
    return False


def partition_docs(recs: list[dict[str, Any]], pages: dict[tuple, str]) -> dict[str, list[dict[str, str]]]:
    """Every raw daily partition validated alone (``raw_docs``), per table, in date order: the
    page of its row suite (``docs``) and of its partition profile (``profile``, transactions)."""
    out: dict[str, dict[str, dict[str, str]]] = {}
    for rec in recs:
        cf = rec["meta"]["couponflow"]
        key = record_key(rec)
        if cf["gate"] != "raw" or cf["partitions"] != [cf["label"]] or not _is_day(cf["label"]) or key not in pages:
            continue
        kind = "profile" if ".profile" in rec["suite_name"] else "docs"
        entry = out.setdefault(cf["table"], {}).setdefault(cf["label"], {"partition": cf["label"]})
        entry[kind] = f"{DATA_DOCS}/{pages[key]}"
    return {t: [days[d] for d in sorted(days)] for t, days in sorted(out.items())}


def _row(gate: str, g: dict[str, Any], recs: list[dict[str, Any]], pages: dict[tuple, str]) -> dict[str, Any]:
    return {
        "gate": gate,
        "table": g["table"],
        "partition": g["partition"],
        "status": _status(g["checks"]),
        "checks": len(g["checks"]),
        "problems": _problems(g["checks"]),
        "docs": _page_for(pages, recs, gate, g["table"], g["partition"]),
    }


def gate_rows(raw_results: list[dict[str, Any]], record: dict[str, Any], pages: dict[tuple, str]) -> dict[str, Any]:
    """Rows of the data-quality table: ``raw_results`` are the published raw-gate results of the
    data the run date decides on; the marts and campaign rows come from the record."""
    recs = record["validations"]
    rows = [_row("raw", g, recs, pages) for g in raw_results]
    for gate in ("marts", "campaign"):
        rows += [_row(gate, g, recs, pages) for g in record["gates"].get(gate, {}).get("results", [])]
    raw = record["gates"].get("raw", {})
    landed = [
        {
            **p,
            "docs": _page_for(pages, recs, "raw", p["table"], p["partitions"][0]),
            "partition_docs": [
                {"partition": d, "docs": _problem_page(pages, recs, p, d)} for d in p["partitions"] if d != "..."
            ],
        }
        for p in raw.get("problems", [])
    ]
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
    return {
        "summary": summary,
        "rows": rows,
        "landed": landed,
        "partitions_gated": raw.get("partitions_gated", {}),
        "partition_docs": partition_docs(recs, pages),
    }
