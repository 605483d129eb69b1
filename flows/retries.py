"""Which task failures are retried: only the object store or the source being unreachable.

A task that touches object storage or the source retries with exponential backoff (2, 4, 8 s,
with jitter) when, and only when, the failure is infrastructure that may come back: the store's
``StoreUnreachable`` (boto3's connection errors, already retried by boto3 itself), or a plain
``ConnectionError`` / ``TimeoutError`` from a source. A gate failure, bad input, a misconfigured
store (no such bucket, refused keys) or a dbt error fails at once: retrying cannot change them.
Every task here is idempotent (manifest-last publishing, landing resumes), so a retry after a
failure half way through a task writes the bytes an undisturbed run writes.
"""

from __future__ import annotations

from typing import Any

from prefect.tasks import exponential_backoff

from couponflow.platform.gate_results import GateFailed
from couponflow.platform.storage import StoreMisconfigured, StoreUnreachable

RETRIES = 3
BACKOFF_S = 2.0  # the first delay; then 4 and 8 s: a store back within ~14 s is ridden out


def is_transient(exc: BaseException | None) -> bool:
    """True for an unreachable store or source, also when another error wraps it (``__cause__``)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, GateFailed | StoreMisconfigured):
            return False
        if isinstance(exc, StoreUnreachable | ConnectionError | TimeoutError):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect's ``retry_condition_fn``: the failed state holds the exception as its data."""
    exc = state.data if isinstance(state.data, BaseException) else state.result(raise_on_failure=False)
    return is_transient(exc if isinstance(exc, BaseException) else None)


# the keyword arguments of every @task that touches the store or the source
STORE_RETRIES: dict[str, Any] = {
    "retries": RETRIES,
    "retry_delay_seconds": exponential_backoff(backoff_factor=BACKOFF_S),
    "retry_jitter_factor": 0.2,
    "retry_condition_fn": retry_if_transient,
}
