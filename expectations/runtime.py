"""Running Great Expectations 1.x suites on pandas DataFrames, and reading their results.

One ephemeral GX context per process; a suite is registered once under its name and validated
as a whole-DataFrame batch (``batch_parameters={"dataframe": df}``), the path that works on
GX 1.24 (the SQLAlchemy/DuckDB path has open bugs, see DESIGN.md). An expectation whose
``meta["severity"]`` is ``"warning"`` is a soft check: it is reported but does not fail the gate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

import pandas as pd

WARNING = "warning"


@dataclass(frozen=True)
class CheckResult:
    check: str  # expectation type, e.g. expect_column_values_to_not_be_null
    column: str | None
    success: bool
    severity: str  # "error" | "warning"
    detail: str
    fix: str = ""


@dataclass
class GateResult:
    gate: str
    table: str
    partition: str  # a date, "snapshot", or "batch"
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return all(c.success or c.severity == WARNING for c in self.checks)

    @property
    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.success and c.severity != WARNING]

    @property
    def warnings(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.success and c.severity == WARNING]

    def one_line(self) -> str:
        """What failed and how to fix it, in one line (for the CLI and the run record)."""
        if self.success:
            return f"{self.gate} gate passed for {self.table} {self.partition}"
        first = self.failures[0]
        more = f" (+{len(self.failures) - 1} more checks)" if len(self.failures) > 1 else ""
        col = f".{first.column}" if first.column else ""
        return (
            f"{self.gate} gate FAILED on {self.table}{col} date={self.partition}: {first.check}: "
            f"{first.detail}{more}. Fix: {first.fix or 'correct the upstream file and re-run the date'}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "gate": self.gate, "table": self.table, "partition": self.partition,
            "success": self.success,
            "checks": [c.__dict__ for c in self.checks],
        }


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


def validate(suite_name: str, build: Callable[[], list], df: pd.DataFrame) -> list[CheckResult]:
    """Validate ``df`` with the suite that ``build`` returns; one CheckResult per expectation."""
    vd = _validation_definition(suite_name, build)
    res = vd.run(batch_parameters={"dataframe": df}, result_format={"result_format": "SUMMARY"})
    out = []
    for r in res.results:
        cfg = r.expectation_config
        meta = cfg.meta or {}
        out.append(
            CheckResult(
                check=cfg.type,
                column=cfg.kwargs.get("column") or _columns(cfg.kwargs),
                success=bool(r.success),
                severity=meta.get("severity", "error"),
                detail=_detail(r),
                fix=meta.get("fix", "") if not r.success else "",
            )
        )
    return out


def _columns(kwargs: dict[str, Any]) -> str | None:
    cols = kwargs.get("column_list") or [kwargs.get(k) for k in ("column_A", "column_B") if kwargs.get(k)]
    return ",".join(cols) if cols else None


def _detail(r) -> str:
    exc = r.exception_info or {}
    if exc.get("raised_exception"):
        return f"could not be evaluated: {exc.get('exception_message')}"
    res = r.result or {}
    if r.success:
        return "ok"
    if res.get("unexpected_count") is not None:
        sample = res.get("partial_unexpected_list") or []
        return f"{res['unexpected_count']} unexpected values, e.g. {sample[:3]}"
    if "observed_value" in res:
        return f"observed {res['observed_value']}"
    return "failed"
