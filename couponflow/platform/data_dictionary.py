"""The data dictionary operators open: dbt's own docs site, as one self-contained page.

``dbt docs generate`` writes ``manifest.json`` (models, columns, descriptions, tests, lineage)
and ``catalog.json`` (the warehouse's actual column types) beside a 1.8 MB single-page app that
fetches them, which a browser refuses from ``file://`` and a bucket serves only with CORS. dbt's
``--static`` inlines both into the page; this module does the same after making them
reproducible, because dbt stamps them with times, invocation ids, absolute paths and the
timestamps of parsing:

- ``metadata``: only the dbt version, schema version, project and adapter are kept;
- every ``created_at`` is 0, and the paths of the project, the target folder and the installed
  packages are written relative (``dbt_project/``, ``target/``, ``<site-packages>/``);
- compiled SQL and where a build wrote it are dropped (it differs between a first, full build
  and an incremental one; the model's source SQL stays), and macros are only the project's own
  (the 600 of dbt and the adapter are not a data dictionary).

So the page is a function of the dbt project and the warehouse's schema: every run of one
project version publishes the same bytes, and the dictionary is stored once per content
(``reports/data-dictionary/<digest>/``), linked from every report instead of copied into each.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from couponflow.platform.config import Settings
from couponflow.platform.warehouse import DBT_PROJECT_DIR, connect, run_dbt

PROJECT = "couponflow"
KEPT_METADATA = ("dbt_schema_version", "dbt_version", "project_name", "adapter_type")
DROPPED = {"compiled_code", "build_path", "compiled_path"}  # of one build, not of the project


def _normalise(obj: Any, paths: list[tuple[str, str]]) -> Any:
    if isinstance(obj, dict):
        return {k: 0 if k == "created_at" else _normalise(v, paths) for k, v in obj.items() if k not in DROPPED}
    if isinstance(obj, list):
        return [_normalise(v, paths) for v in obj]
    if isinstance(obj, str):
        for absolute, relative in paths:
            obj = obj.replace(absolute, relative)
        return obj
    return obj


def _paths(settings: Settings) -> list[tuple[str, str]]:
    """Absolute prefixes to write relative, longest first (the target folder may lie inside the project)."""
    site = {str(Path(p)) for p in sys.path if p.endswith("site-packages")}
    pairs = [(str(settings.dbt_target_dir), "target"), (str(DBT_PROJECT_DIR), "dbt_project")]
    pairs += [(p, "<site-packages>") for p in site]
    return sorted(pairs, key=lambda pair: -len(pair[0]))


def normalised_manifest(raw: dict[str, Any], settings: Settings) -> dict[str, Any]:
    manifest = dict(raw)
    manifest["metadata"] = {k: raw["metadata"].get(k) for k in KEPT_METADATA}
    manifest["macros"] = {k: m for k, m in raw.get("macros", {}).items() if m.get("package_name") == PROJECT}
    for node in manifest.get("nodes", {}).values():
        if "compiled" in node:
            node["compiled"] = False
    return _normalise(manifest, _paths(settings))


def normalised_catalog(raw: dict[str, Any], settings: Settings) -> dict[str, Any]:
    catalog = dict(raw)
    catalog["metadata"] = {k: raw["metadata"].get(k) for k in KEPT_METADATA if k in raw["metadata"]}
    return _normalise(catalog, _paths(settings))


def _dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def schema_digest(settings: Settings) -> str:
    """What the catalog is made of: every column of the warehouse with its type (cheap to read)."""
    with connect(settings) as con:
        rows = con.execute(
            "select table_schema, table_name, column_name, data_type, ordinal_position "
            "from information_schema.columns order by all"
        ).fetchall()
    return hashlib.sha256(_dumps(rows).encode()).hexdigest()


def dictionary_key(settings: Settings) -> str | None:
    """A digest of what the page would hold (the project's manifest and the warehouse's schema), or
    None when dbt has not built yet. Runs no dbt: a run whose dictionary is stored skips generating."""
    path = settings.dbt_target_dir / "manifest.json"
    if not path.exists() or not settings.warehouse_path.exists():
        return None
    manifest = normalised_manifest(json.loads(path.read_text()), settings)
    return hashlib.sha256((_dumps(manifest) + schema_digest(settings)).encode()).hexdigest()[:16]


def build_page(settings: Settings) -> bytes:
    """Run ``dbt docs generate`` on the built warehouse (no recompiling: the build's manifest) and
    return the self-contained page. Raises ``WarehouseError`` when dbt cannot."""
    from dbt.task.docs import DOCS_INDEX_FILE_PATH

    run_dbt(settings, "docs", "generate", "--no-compile")
    target = settings.dbt_target_dir
    manifest = normalised_manifest(json.loads((target / "manifest.json").read_text()), settings)
    catalog = normalised_catalog(json.loads((target / "catalog.json").read_text()), settings)
    page = Path(DOCS_INDEX_FILE_PATH).read_text(encoding="utf-8")
    page = page.replace('"MANIFEST.JSON INLINE DATA"', _dumps(manifest))
    page = page.replace('"CATALOG.JSON INLINE DATA"', _dumps(catalog))
    return page.encode("utf-8")
