"""The operators' view in Prefect: every run date's report leaves three artifacts in the UI.

- ``couponflow-verdict`` (markdown): safe to send or stopped, and why, with the one-line fix; the
  campaign's size and budget use; where the report, the Data Docs and the data dictionary are;
- ``couponflow-gates`` (table): one row per gate result the report shows, with its problems;
- ``couponflow-report`` (link): the report page in the lake.

Everything is read from the report just published (``report.json``), so the artifacts say what
the page says; the formatting functions are pure and tested on a real report.
"""

from __future__ import annotations

import json
import posixpath
from datetime import date
from typing import Any

from couponflow.platform import manifest
from couponflow.platform.lake import REPORT_DATA, REPORT_PAGE
from couponflow.platform.storage import ObjectStore

KEYS = ("couponflow-verdict", "couponflow-gates", "couponflow-report")


def location(store: ObjectStore, key: str) -> str:
    """Where an object of the lake is, for a person: a file URI, or s3://bucket/prefix/key."""
    path = store.local_path(key)
    if path is not None:
        return path.as_uri()
    bucket, prefix = getattr(store, "bucket", "?"), getattr(store, "prefix", "")
    return f"s3://{bucket}/{posixpath.join(prefix, key) if prefix else key}"


def verdict_markdown(content: dict[str, Any], where: dict[str, str]) -> str:
    lines = [f"# couponflow {content['run_date']}", "", f"**{content['verdict']}**", ""]
    if content.get("failure"):
        lines += [f"> {content['failure']}", ""]
    camp = content.get("campaign")
    if camp:
        lines += [
            f"- recipients: {camp['sends']} of {camp['candidates']} candidate pairs",
            f"- budget used: {camp['expected_cost']:.2f} of {camp['budget']:.2f}",
            f"- expected redemptions: {camp['expected_redemptions']:.2f}",
        ]
    lines += [f"- gates: {', '.join(f'{g} {s}' for g, s in content['gates']['summary'].items())}", ""]
    lines += [f"[{name}]({url})" + "  " for name, url in where.items()]
    return "\n".join(lines)


def gate_table(content: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "gate": r["gate"],
            "table": r["table"],
            "partition": r["partition"],
            "status": r["status"],
            "checks": r["checks"],
            "problems": "; ".join(f"{p['check']} {p['column'] or ''}: {p['detail']}".strip() for p in r["problems"]),
        }
        for r in content["gates"]["rows"]
    ]


def publish_artifacts(store: ObjectStore, report: manifest.Dataset, run_date: date) -> None:
    """Create the three artifacts of ``run_date``'s report in the current flow run."""
    from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

    content = json.loads(manifest.read_object(store, report, REPORT_DATA))
    page = report.key(REPORT_PAGE)
    where = {"report": location(store, page), "Data Docs": location(store, report.key(content["data_docs"]))}
    if content.get("data_dictionary"):
        where["data dictionary"] = location(store, posixpath.normpath(report.key(content["data_dictionary"])))
    description = f"couponflow run date {run_date.isoformat()}"
    create_markdown_artifact(verdict_markdown(content, where), key=KEYS[0], description=description)
    create_table_artifact(gate_table(content), key=KEYS[1], description=description)
    create_link_artifact(where["report"], link_text=f"report {run_date.isoformat()}", key=KEYS[2])
