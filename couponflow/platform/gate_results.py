"""Gate results: what a gate found, as plain records that the lake stores beside the data.

``expectations/`` produces them (Great Expectations suites on frames), landing publishes the raw
gate's as ``validation.json`` beside each partition, and the report folds them. They live in the
platform because every layer reads them; nothing here runs a check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

WARNING = "warning"  # a soft check: reported with its reason, never stops the gate
CRITICAL = "critical"  # GX's FailureSeverity values: a failing critical check stops the gate


@dataclass(frozen=True)
class CheckResult:
    check: str  # expectation type, e.g. expect_column_values_to_not_be_null
    column: str | None
    success: bool
    severity: str  # "critical" | "warning" (GX's native severity)
    detail: str
    fix: str = ""
    reason: str = ""  # soft checks: why the real data legitimately trips it

    @property
    def status(self) -> str:
        return "pass" if self.success else ("warn" if self.severity == WARNING else "fail")


@dataclass
class GateResult:
    gate: str  # raw | marts | campaign
    table: str
    partition: str  # a date, "snapshot", "batch" or a date range "A..B"
    checks: list[CheckResult] = field(default_factory=list)
    # normalised GX validation results behind ``checks`` (for Data Docs); not part of to_dict()
    validations: list[dict[str, Any]] = field(default_factory=list, repr=False, compare=False)

    @property
    def success(self) -> bool:
        return all(c.success or c.severity == WARNING for c in self.checks)

    @property
    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.success and c.severity != WARNING]

    @property
    def warnings(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.success and c.severity == WARNING]

    @property
    def status(self) -> str:
        return "fail" if self.failures else ("warn" if self.warnings else "pass")

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
            "gate": self.gate,
            "table": self.table,
            "partition": self.partition,
            "success": self.success,
            "checks": [c.__dict__ for c in self.checks],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GateResult:
        checks = [
            CheckResult(**{k: v for k, v in c.items() if k in CheckResult.__dataclass_fields__}) for c in d["checks"]
        ]
        return cls(d["gate"], d["table"], d["partition"], checks)


@dataclass
class GateRun:
    """Results of one gate plus the data each table was validated on (quarantined on failure)."""

    results: list[GateResult]
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return all(r.success for r in self.results)

    @property
    def failures(self) -> list[GateResult]:
        return [r for r in self.results if not r.success]


class GateFailed(RuntimeError):
    """A gate rejected data; ``results`` holds the failing validations. The message is one line:
    the gate, the table and column, the date, the check and the fix."""

    def __init__(self, results: list[GateResult], all_results: list[GateResult] | None = None):
        self.results = results
        self.all_results = all_results if all_results is not None else results  # passes included
        super().__init__(results[0].one_line())

    def __reduce__(self):  # picklable although __init__ takes results, not the message
        return (GateFailed, (self.results, self.all_results))

    @property
    def gate(self) -> str:
        return self.results[0].gate
