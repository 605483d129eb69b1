"""One run per lake under a Prefect server: a real global concurrency limit on the harness's
server, held by one run; a second run (the context manager itself, then a whole `couponflow
daily`) waits COUPONFLOW_LOCK_WAIT_S and is refused with exit 4 and a line naming the limit."""

from __future__ import annotations

import threading
import time

import pytest
from typer.testing import CliRunner

from couponflow.platform.resources import build_resources
from flows.lake_limit import LakeBusy, limit_name, one_run_per_lake

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture
def server_mode(local_home, monkeypatch):
    from prefect.settings import PREFECT_API_URL

    monkeypatch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())  # the harness's server, explicitly
    monkeypatch.setenv("COUPONFLOW_LOCK_WAIT_S", "1")
    return build_resources()


def _slot(name: str):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_global_concurrency_limit_by_name(name)


def test_a_second_run_on_the_lake_waits_then_is_refused_and_the_slot_is_freed(server_mode):
    res = server_mode
    name = limit_name(res.store.description)
    refused: list[BaseException] = []

    def second() -> None:
        try:
            with one_run_per_lake(res, "daily"):
                pass
        except LakeBusy as exc:
            refused.append(exc)

    with one_run_per_lake(res, "backfill"):
        assert (_slot(name).limit, _slot(name).active_slots) == (1, 1)
        t0 = time.monotonic()
        thread = threading.Thread(target=second)
        thread.start()
        thread.join(30)
        assert time.monotonic() - t0 >= 1.0  # it waited COUPONFLOW_LOCK_WAIT_S
        assert len(refused) == 1 and name in str(refused[0]) and "COUPONFLOW_LOCK_WAIT_S" in str(refused[0])

        from flows.cli import app

        out = CliRunner().invoke(app, ["daily", "--date", "2017-01-02"])
        assert out.exit_code == 4, out.output
        assert f"global concurrency limit {name}" in out.output
    assert _slot(name).active_slots == 0  # released with the body
    with one_run_per_lake(res, "daily"):  # and free for the next run
        assert _slot(name).active_slots == 1


def test_embedded_runs_leave_it_to_the_home_lock(server_mode, monkeypatch):
    res = server_mode
    with one_run_per_lake(res, "daily"):
        monkeypatch.delenv("PREFECT_API_URL")
        with one_run_per_lake(res, "daily"):  # no server named: nothing to wait for
            pass
