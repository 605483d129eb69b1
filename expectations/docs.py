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

Every daily raw partition the report covers also gets a page of its own
(``build_partition_pages``, from ``expectations.partition_docs``' records): at the same depth of
the same site, dated by its partition's day, and rendered once per content into a cache in the
home, since a first catch-up's report has about 1,200 of them.

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
    shutil.rmtree(out_dir, ignore_errors=True)
    run_time = datetime(run_date.year, run_date.month, run_date.day, tzinfo=UTC)
    return _build_site(records, out_dir, lambda rec: run_time)


def _partition_time(record: dict[str, Any]) -> datetime:
    day = date.fromisoformat(record["meta"]["couponflow"]["label"])
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def build_partition_pages(records: list[dict[str, Any]], out_dir: Path, cache_dir: Path) -> dict[tuple, str]:
    """Add a page per record of one raw partition (``label`` a date) to the site ``build_data_docs``
    built in ``out_dir``: at the same depth, so that the site's static files serve them, and
    outside its index (the report links each). A page's run time is its partition's day, so the
    page depends on the record alone, and it is rendered once per content: GX takes about 40 ms
    a page, a 302-day catch-up has 1,208 of them (three tables and the profile), and the same
    pages come back in every re-run of the date. ``cache_dir`` (in the home) keeps each page by
    the sha256 of its record; a page is the same bytes whether it came from the cache or not.

    Returns the page of each record, relative to ``out_dir``, keyed by ``record_key``."""
    import hashlib
    import json

    from great_expectations import __version__ as gx_version

    pages: dict[tuple, str] = {}
    todo: dict[tuple, tuple[dict[str, Any], Path]] = {}
    for rec in records:
        key = record_key(rec)
        if key in pages or key in todo:
            continue
        rel = _page_path(rec, _partition_time(rec))
        blob = json.dumps([gx_version, SITE, rec], sort_keys=True, default=str).encode()
        cached = cache_dir / f"{hashlib.sha256(blob).hexdigest()}.html"
        if cached.is_file():
            (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cached, out_dir / rel)
            pages[key] = rel
        else:
            todo[key] = (rec, cached)
    if todo:
        scratch = out_dir.with_name(out_dir.name + ".partitions")
        shutil.rmtree(scratch, ignore_errors=True)
        built = _build_site([rec for rec, _ in todo.values()], scratch, _partition_time)
        cache_dir.mkdir(parents=True, exist_ok=True)
        for key, rel in built.items():
            (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(scratch / rel, out_dir / rel)
            shutil.copyfile(scratch / rel, todo[key][1])
            pages[key] = rel
        shutil.rmtree(scratch, ignore_errors=True)
    return pages


def _page_path(rec: dict[str, Any], run_time: datetime) -> str:
    suite_name, table, label = record_key(rec)
    batch = _safe(f"{rec['meta']['couponflow']['gate']}-{table}")
    stamp = run_time.strftime("%Y%m%dT%H%M%S.%fZ")
    return "/".join(["validations", *suite_name.split("."), run_name(label), stamp, f"{batch}.html"])


def _build_site(records: list[dict[str, Any]], out_dir: Path, run_time_of) -> dict[tuple, str]:
    import great_expectations as gx
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResultSchema
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
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
    schema = ExpectationSuiteValidationResultSchema()
    unique: dict[tuple, dict[str, Any]] = {}
    for rec in records:
        unique.setdefault(record_key(rec), rec)
    pages: dict[tuple, str] = {}
    for key, rec in sorted(unique.items()):
        suite_name, table, label = key
        cf = rec["meta"]["couponflow"]
        run_time = run_time_of(rec)
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
        pages[key] = _page_path(rec, run_time)
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
