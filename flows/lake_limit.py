"""One run per lake under a Prefect server (DESIGN, "The lock").

The home's file lock (``couponflow.platform.lock``) serialises the commands of one home. Runs a
server starts (served deployments, a work pool's workers) may run from other homes on other
machines that share one lake, so each writing flow also holds a slot of a global concurrency
limit named after the lake's location, with one slot: a second run waits for it up to
``COUPONFLOW_LOCK_WAIT_S`` and is then refused (``LakeBusy``; the CLI exits 4, like the home
lock). The limit is created on first use. Two homes on one lake without a shared server are
unsupported (the README says so).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress

from couponflow.platform.lock import HomeLocked
from couponflow.platform.resources import Resources

LIMIT_PREFIX = "couponflow-lake-"
LEASE_S = 60.0


def under_a_server() -> bool:
    """Server mode is an explicit PREFECT_API_URL (the README); embedded runs have the home lock."""
    return bool(os.environ.get("PREFECT_API_URL"))


class LakeBusy(HomeLocked):
    """Another run holds the lake's global concurrency limit."""


def limit_name(lake: str) -> str:
    """The limit of a lake location (a name Prefect accepts: no '/', ':' or '%')."""
    return LIMIT_PREFIX + hashlib.sha256(lake.encode()).hexdigest()[:16]


def ensure_limit(name: str) -> None:
    """Create the one-slot limit unless it exists (two runs creating it at once: one wins)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            with suppress(ObjectAlreadyExists):
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))


@contextmanager
def one_run_per_lake(res: Resources, flow: str) -> Iterator[None]:
    """Hold the lake's slot for the body; refuse with ``LakeBusy`` after the lock wait. Embedded
    (no PREFECT_API_URL): nothing to do, the home's file lock already serialises the runs."""
    from prefect.concurrency.sync import concurrency

    if not under_a_server():
        yield
        return
    name = limit_name(res.store.description)
    ensure_limit(name)
    wait = max(res.settings.lock_wait_s, 0.5)
    # a run killed while holding the slot frees it when its lease runs out (renewed while it lives)
    slot = concurrency(name, occupy=1, timeout_seconds=wait, strict=True, lease_duration=LEASE_S)
    with ExitStack() as stack:
        try:  # only a timeout while acquiring is "busy"; one raised by the body is the body's
            stack.enter_context(slot)
        except TimeoutError:
            raise LakeBusy(
                f"another run holds the lake {res.store.description} (Prefect global concurrency limit {name}); "
                f"{flow} waited {res.settings.lock_wait_s:g} s (COUPONFLOW_LOCK_WAIT_S): run it again when that "
                "run has finished (the Prefect UI lists it under Concurrency)"
            ) from None
        yield
