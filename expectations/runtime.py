"""Running Great Expectations 1.x suites on pandas DataFrames, and reading their results.

One ephemeral GX context per process; a suite is registered once under its name and validated
as a whole-DataFrame batch (``batch_parameters={"dataframe": df}``), the path that works on
GX 1.24 (the SQLAlchemy/DuckDB path has open bugs). An expectation with GX's native
``severity="warning"`` is a soft check: it is reported with its ``meta["reason"]`` but does not
fail the gate; a failing ``critical`` one (GX's default) is a hard check whose ``meta["fix"]``
says what to do.

Every gate keeps, beside its own compact results, the GX validation results that produced them
(``GateResult.validations``, normalised JSON without times or random ids) so that the run's
Data Docs can be built from them (``expectations/docs.py``) and rebuilt later from the lake.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pandas as pd

from couponflow.platform.gate_results import CRITICAL, WARNING, CheckResult, GateFailed, GateResult, GateRun

__all__ = [
    "CRITICAL",
    "WARNING",
    "CheckResult",
    "GateFailed",
    "GateResult",
    "GateRun",
    "Validation",
    "run_suite",
    "soft",
]


def soft():
    """GX's native severity of a soft check (``FailureSeverity.WARNING``): it warns, never stops."""
    from great_expectations.expectations.metadata_types import FailureSeverity

    return FailureSeverity.WARNING


@lru_cache(maxsize=1)
def context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    return ctx


_DEFINITIONS: dict[str, Any] = {}


def _validation_definition(suite_name: str, build: Callable[[], list]):
    """Register the suite once per process under its name; later calls reuse it."""
    if suite_name not in _DEFINITIONS:
        import great_expectations as gx

        ctx = context()
        suite = ctx.suites.add(gx.ExpectationSuite(name=suite_name, expectations=build()))
        asset = ctx.data_sources.add_pandas(f"{suite_name}.src").add_dataframe_asset(f"{suite_name}.df")
        batch = asset.add_batch_definition_whole_dataframe("whole")
        _DEFINITIONS[suite_name] = ctx.validation_definitions.add(
            gx.ValidationDefinition(name=suite_name, data=batch, suite=suite)
        )
    return _DEFINITIONS[suite_name]


@dataclass
class Validation:
    """The outcome of one suite on one DataFrame: compact checks plus GX's own result."""

    checks: list[CheckResult]
    result: Any  # great_expectations ExpectationSuiteValidationResult

    def record(self, gate: str, table: str, label: str, partitions: Iterable[str]) -> dict[str, Any]:
        return gx_record(self.result, gate, table, label, partitions)


SMALL_FRAME = 20_000  # rows under which asking GX for the index columns costs nothing noticeable


def run_suite(
    suite_name: str,
    build: Callable[[], list],
    df: pd.DataFrame,
    *,
    index_columns: list[str] | None = None,
    complete: bool = False,
) -> Validation:
    """Validate ``df`` with the suite that ``build`` returns.

    With ``index_columns``, failing row-level expectations come back with the values of those
    columns on (a sample of) the unexpected rows: gates use it to say which partition or run date
    a failure belongs to; ``complete`` asks for all of them (GX's COMPLETE format). On a large
    frame the indexed run costs about 5x a plain one, so it is only made when the plain one fails.
    """
    vd = _validation_definition(suite_name, build)
    indexed: dict[str, Any] = {"result_format": "COMPLETE" if complete else "SUMMARY"}
    if index_columns:
        indexed.update(unexpected_index_column_names=index_columns, return_unexpected_index_query=False)
    if index_columns and len(df) > SMALL_FRAME:
        res = vd.run(batch_parameters={"dataframe": df}, result_format={"result_format": "SUMMARY"})
        if not res.success:
            res = vd.run(batch_parameters={"dataframe": df}, result_format=indexed)
    else:
        res = vd.run(batch_parameters={"dataframe": df}, result_format=indexed)
    out = []
    for r in res.results:
        cfg = r.expectation_config
        meta = cfg.meta or {}
        out.append(
            CheckResult(
                check=cfg.type,
                column=cfg.kwargs.get("column") or _columns(cfg.kwargs),
                success=bool(r.success),
                severity=WARNING if cfg.severity.value == WARNING else CRITICAL,
                detail=_detail(r, index_columns),
                fix=meta.get("fix", "") if not r.success else "",
                reason=meta.get("reason", "") if not r.success else "",
            )
        )
    return Validation(out, res)


def unexpected_index(result, column: str) -> list[Any]:
    """The ``column`` values of the unexpected rows of one expectation result (COMPLETE format)."""
    rows = (result.result or {}).get("unexpected_index_list") or []
    return [row.get(column) for row in rows if isinstance(row, dict)]


def _columns(kwargs: dict[str, Any]) -> str | None:
    cols = kwargs.get("column_list") or [kwargs.get(k) for k in ("column_A", "column_B") if kwargs.get(k)]
    return ",".join(cols) if cols else None


def _short(value: Any) -> Any:
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict)):
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            value = value.item()  # numpy scalars print as plain numbers
    if isinstance(value, dict):
        return {k: _short(v) for k, v in value.items()}
    if isinstance(value, float):
        return round(value, 6)
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10]
    return value


def _detail(r, index_columns: list[str] | None = None) -> str:
    exc = r.exception_info or {}
    if exc.get("raised_exception"):
        return f"could not be evaluated: {exc.get('exception_message')}"
    res = r.result or {}
    if r.success:
        return "ok"
    if res.get("unexpected_count") is not None:
        sample = [_short(v) for v in (res.get("partial_unexpected_list") or [])[:3]]
        where = ""
        if index_columns:
            seen: list[str] = []
            for row in res.get("partial_unexpected_index_list") or []:
                label = ", ".join(f"{c}={_short(row.get(c))}" for c in index_columns if c in row)
                if label and label not in seen:
                    seen.append(label)
            where = f" at {'; '.join(seen[:3])}" if seen else ""
        return f"{res['unexpected_count']} unexpected values, e.g. {sample}{where}"
    if "observed_value" in res:
        return f"observed {res['observed_value']}"
    return "failed"


# -- GX results as plain, deterministic JSON (for Data Docs) ---------------------------------

_DROP_META = ("batch_markers", "validation_id", "checkpoint_id", "validation_time", "run_id")


_MAX_LISTED = 50  # unexpected values kept per expectation in a record


def _drop_ids(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {
            k: (
                _drop_ids(v)[:_MAX_LISTED]
                if k in ("unexpected_list", "unexpected_index_list") and isinstance(v, list)
                else _drop_ids(v)
            )
            for k, v in obj.items()
            if k not in ("id", "unexpected_index_query")
        }
    if isinstance(obj, list):
        return [_drop_ids(v) for v in obj]
    return obj


def gx_record(result, gate: str, table: str, label: str, partitions: Iterable[str]) -> dict[str, Any]:
    """A GX validation result as JSON without times or random ids, tagged with what it covered.

    The same data validated by the same code gives the same record, so a report that lists
    records is byte-identical on a re-run.
    """
    import json

    d = json.loads(json.dumps(result.to_json_dict(), default=str))
    d = _drop_ids(d)
    d["meta"] = {k: v for k, v in (d.get("meta") or {}).items() if k not in _DROP_META}
    d["meta"]["couponflow"] = {"gate": gate, "table": table, "label": label, "partitions": sorted(set(partitions))}
    return d
