"""GX Data Docs for one run date: built on the local disk, then uploaded through the object store.

GX 1.x writes Data Docs to a local folder only (DESIGN.md). For run date D the docs are built
from the gate results of the run (normalised GX validation results, see
``expectations.runtime.gx_record``) into ``settings.work_dir/data-docs/date=D/`` by a fresh
ephemeral GX context whose only site is that folder, then published under
``reports/date=D/data-docs/`` (manifest last) by ``couponflow.app.report.writer``, so they reach
S3 with the report that links to them. Page paths are deterministic:
``validations/<suite>/<label>/<D>T000000.000000Z/<gate>-<table>.html``, and so are the pages
(GX's random element ids and cache-busting stamps are normalised). Only validation pages are
built: each lists its suite's expectations, so separate suite pages would repeat them (and cost a
second per report).

GX's pages load Bootstrap and friends from public CDNs (GX's own design); the operators' report
itself is self-contained. The docs' large static files (fonts and animated GIFs, 3.4 MB) are
not uploaded: the pages render without them.
"""

from __future__ import annotations

import logging
import re
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

SITE = "couponflow"
SKIP_SUFFIXES = (".otf", ".gif")
_STAMP = re.compile(r"\?d=\d{8}T\d{6}\.\d+Z")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _deterministic(text: str) -> str:
    """Drop GX's cache-busting time stamps and number its random element ids in order."""
    ids: dict[str, str] = {}
    text = _UUID.sub(lambda m: ids.setdefault(m.group(0), f"id{len(ids) + 1}"), text)
    return _STAMP.sub("", text)


def record_key(record: dict[str, Any]) -> tuple[str, str, str]:
    cf = record["meta"]["couponflow"]
    return record["suite_name"], cf["table"], cf["label"]


def run_name(label: str) -> str:
    """The GX run name of a validation label. A date range "A..B" is written "A_to_B": GX's page
    renderer parses run names as dates, and dateutil reads "2017-01-01..2017-10-29" as a time
    with a 10-day UTC offset, which made every run log a rendering traceback and lose the
    page's title."""
    return _safe(label.replace("..", "_to_"))


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", text)


def build_data_docs(records: list[dict[str, Any]], out_dir: Path, run_date: date) -> dict[tuple, str]:
    """Build the Data Docs site of ``records`` into ``out_dir`` (replaced).

    Returns the page of each record, relative to ``out_dir``, keyed by ``record_key``.
    """
    import great_expectations as gx
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResultSchema
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    ctx = gx.get_context(mode="ephemeral")
    for name in list(ctx.list_data_docs_sites()):
        ctx.delete_data_docs_site(name)
    ctx.add_data_docs_site(  # GX's TypedDict lacks show_how_to_buttons, which its SiteBuilder takes
        SITE,
        {  # type: ignore[typeddict-unknown-key]
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(out_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    run_time = datetime(run_date.year, run_date.month, run_date.day, tzinfo=UTC)
    schema = ExpectationSuiteValidationResultSchema()
    unique: dict[tuple, dict[str, Any]] = {}
    for rec in records:
        unique.setdefault(record_key(rec), rec)
    pages: dict[tuple, str] = {}
    for key, rec in sorted(unique.items()):
        suite_name, table, label = key
        cf = rec["meta"]["couponflow"]
        run_id = RunIdentifier(run_name=run_name(label), run_time=run_time)
        shown = {
            **rec,
            "meta": {**rec["meta"], "run_id": run_id.to_json_dict(), "validation_time": run_time.isoformat()},
        }
        result = schema.load(shown)
        batch = _safe(f"{cf['gate']}-{table}")
        ctx.validation_results_store.set(
            ValidationResultIdentifier(
                expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite_name),
                run_id=run_id,
                batch_identifier=batch,
            ),
            result,
        )
        pages[key] = "/".join(
            [
                "validations",
                *suite_name.split("."),
                run_name(label),
                run_time.strftime("%Y%m%dT%H%M%S.%fZ"),
                f"{batch}.html",
            ]
        )
    ctx.build_data_docs(site_names=[SITE])
    for path in out_dir.rglob("*.html"):  # same inputs, same pages
        path.write_text(_deterministic(path.read_text()))
    return {k: v for k, v in pages.items() if (out_dir / v).is_file()}


def docs_files(out_dir: Path) -> dict[str, bytes]:
    """The files of a built site to upload (without the large fonts and GIFs)."""
    return {
        p.relative_to(out_dir).as_posix(): p.read_bytes()
        for p in sorted(out_dir.rglob("*"))
        if p.is_file() and not p.name.endswith(SKIP_SUFFIXES)
    }
