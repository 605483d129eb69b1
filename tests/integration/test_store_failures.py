"""A flow run whose store fails, as a deployment (``couponflow serve``) runs it, with no CLI check
before it: real Prefect flow runs on the real SeaweedFS server."""

from __future__ import annotations

import json
from datetime import date

import pytest

from couponflow.platform.runs import kept_runs
from couponflow.platform.storage import StoreMisconfigured
from flows.recording import failure_line
from tests.conftest import _env_for

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_a_flow_with_a_typo_in_its_bucket_creates_nothing_and_keeps_its_record_in_the_home(
    tmp_path, monkeypatch, seaweed, s3_bucket
):
    """The defect: the failed run wrote its record into the store that had just failed, SeaweedFS
    created the typo's bucket on that PUT, and the next run with the same typo published a whole
    lake there; the failure's message quoted the record's write, not the stage that failed."""
    from flows.daily import backfill, daily

    typo, home = s3_bucket + "x", tmp_path / "home"
    for k, v in _env_for(home, "s3", seaweed, typo).items():
        monkeypatch.setenv(k, v)

    with pytest.raises(StoreMisconfigured) as exc:
        backfill(start=date(2017, 1, 2), end=date(2017, 1, 3))
    line = failure_line(exc.value)
    assert line.startswith(f"backfill failed in stage land: bucket {typo!r} does not exist"), line
    assert "COUPONFLOW_S3_BUCKET" in line and "run record kept in" in line
    with pytest.raises(StoreMisconfigured) as exc:  # the same typo again: still refused, nothing published
        daily(run_date=date(2017, 1, 2))
    assert failure_line(exc.value).startswith(f"daily failed before its first stage: bucket {typo!r}")

    assert typo not in {b["Name"] for b in seaweed["client"].list_buckets()["Buckets"]}
    records = [json.loads(p.read_text()) for p in kept_runs(home)]
    assert sorted(r["flow"] for r in records) == ["backfill", "daily"]
    assert all(r["status"] == "failed" and typo in r["error"] for r in records)
    assert {r["flow"]: r["failed_stage"] for r in records} == {"backfill": "land", "daily": None}
    assert not (home / "lake").exists()  # the record went to the home, not into a made-up local lake
