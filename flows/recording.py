"""One way every flow records its run: ``runs/<run_id>.json`` with its stages, gates and outputs,
written on success and on failure (then re-raised)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from prefect.runtime import flow_run

from couponflow.platform.gate_results import GateFailed
from couponflow.platform.resources import Resources
from couponflow.platform.runs import RunRecord


def new_record(flow: str, parameters: dict[str, Any]) -> RunRecord:
    return RunRecord(str(flow_run.id or uuid.uuid4()), flow, parameters)


def gate_summary(results) -> list[dict[str, Any]]:
    by_table: dict[str, dict[str, Any]] = {}
    for r in results:
        row = by_table.setdefault(
            f"{r.gate}:{r.table}", {"gate": r.gate, "table": r.table, "partitions": 0, "failed": 0, "warnings": 0}
        )
        row["partitions"] += 1
        row["failed"] += int(not r.success)
        row["warnings"] += len(r.warnings)
    return list(by_table.values())


@contextmanager
def recorded(
    res: Resources, record: RunRecord, on_gate_failure: Callable[[GateFailed], None] | None = None
) -> Iterator[None]:
    """Record a failure in the run record (a gate's first through ``on_gate_failure``, e.g. the
    report of the day it stopped), then re-raise; a success is recorded by ``record.finish``."""
    try:
        yield
    except GateFailed as exc:
        if on_gate_failure is not None:
            on_gate_failure(exc)
        record.finish(res.store, "failed", str(exc))
        raise
    except Exception as exc:
        record.finish(res.store, "failed", f"{type(exc).__name__}: {exc}")
        raise
