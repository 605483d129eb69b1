"""Which failures a task retries: an unreachable store or source, never a gate or a bad setting."""

from __future__ import annotations

import pytest

from couponflow.platform.gate_results import CheckResult, GateFailed, GateResult
from couponflow.platform.storage import StoreError, StoreMisconfigured, StoreUnreachable
from couponflow.platform.warehouse import WarehouseError
from flows.retries import STORE_RETRIES, is_transient, retry_if_transient


def _gate_failed() -> GateFailed:
    check = CheckResult("not_null", "household_id", False, "critical", "1 null")
    return GateFailed([GateResult("raw", "transactions", "2017-01-03", [check])])


def _wrapped(outer: Exception, inner: Exception) -> Exception:
    outer.__cause__ = inner  # what ``raise outer from inner`` leaves
    return outer


@pytest.mark.parametrize(
    "exc,retried",
    [
        (StoreUnreachable("cannot reach s3://lake"), True),
        (ConnectionError("source reset"), True),
        (TimeoutError("source timed out"), True),
        (_wrapped(WarehouseError("expose failed"), StoreUnreachable("down")), True),  # the store under dbt's feet
        (_gate_failed(), False),
        (StoreMisconfigured("bucket 'lakee' does not exist"), False),
        (StoreError("refused"), False),
        (WarehouseError("dbt build failed on 1 node(s)"), False),
        (ValueError("bad date"), False),
        (_wrapped(StoreMisconfigured("no bucket"), ConnectionError("while probing")), False),
        (None, False),
    ],
)
def test_only_an_unreachable_store_or_source_is_retried(exc, retried):
    assert is_transient(exc) is retried


def test_prefect_reads_the_exception_from_the_failed_state():
    from prefect.states import Failed

    assert retry_if_transient(None, None, Failed(data=StoreUnreachable("down"))) is True
    assert retry_if_transient(None, None, Failed(data=_gate_failed())) is False
    assert STORE_RETRIES["retries"] == 3 and STORE_RETRIES["retry_delay_seconds"](3) == [2.0, 4.0, 8.0]
