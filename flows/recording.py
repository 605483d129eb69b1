"""One way every flow records its run: ``runs/<run_id>.json`` with its stages, gates and outputs,
written on success and on failure (then re-raised).

A failure's record is never lost and never hides the failure: when the lake cannot take it (the
store is what failed), it is kept in the home folder (``couponflow.platform.runs``), and the
exception re-raised is the run's own, with notes naming the stage it came out of and where its
record is; ``failure_line`` turns that into the CLI's one line.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from prefect import get_run_logger
from prefect.exceptions import MissingContextError
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
            try:
                on_gate_failure(exc)
            except Exception as report_exc:  # noqa: BLE001 - e.g. the lake failed too: the gate's failure stays the error
                _warn(f"the report of the stop could not be written: {report_exc}")
        _record_failure(res, record, exc, str(exc))
        raise
    except Exception as exc:
        _record_failure(res, record, exc, f"{type(exc).__name__}: {exc}")
        raise


_STAGE_NOTE, _KEPT_NOTE = "couponflow: ", "couponflow: run record kept in "


def _record_failure(res: Resources, record: RunRecord, exc: Exception, error: str) -> None:
    where = f"in stage {record.failed_stage}" if record.failed_stage else "before its first stage"
    exc.add_note(f"{_STAGE_NOTE}{record.flow} failed {where}")
    kept = record.finish(res.store, "failed", error, home=res.settings.home_dir)
    if kept is not None:
        exc.add_note(f"{_KEPT_NOTE}{kept}")
        _warn(f"run record kept in {kept}: {record.kept_because}")


def _warn(message: str) -> None:
    with contextlib.suppress(MissingContextError):  # outside a flow run (tests), nobody to tell
        get_run_logger().warning(message)


def failure_line(exc: BaseException) -> str:
    """The CLI's one line for a failed flow: the stage that failed and its cause (a gate's own
    message already names its gate), and where the run record is when the lake could not take it."""
    notes = [n for n in getattr(exc, "__notes__", []) if n.startswith(_STAGE_NOTE)]
    stage = next((n.removeprefix(_STAGE_NOTE) for n in notes if not n.startswith(_KEPT_NOTE)), None)
    kept = next((n.removeprefix(_KEPT_NOTE) for n in notes if n.startswith(_KEPT_NOTE)), None)
    cause = str(exc) or type(exc).__name__
    line = cause if stage is None or isinstance(exc, GateFailed) else f"{stage}: {cause}"
    return line + (f" (run record kept in {kept}: the lake could not take it)" if kept else "")
