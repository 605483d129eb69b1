"""Bad input, bad settings and a store that cannot be used are refused in one line with DESIGN's
exit code, before any work and before Prefect starts: the real CLI in a subprocess (its output is
what an operator or a scheduler sees), the real SeaweedFS server for S3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from couponflow.platform.config import load_settings
from couponflow.platform.resources import Resources
from couponflow.platform.runs import RunRecord, kept_runs
from couponflow.platform.storage import S3Store, StoreMisconfigured
from flows.recording import failure_line, recorded
from tests.seaweed import ACCESS_KEY, SECRET_KEY, free_port

REPO = Path(__file__).resolve().parents[2]
SECRET = SECRET_KEY  # the server's real secret: it must appear in no output


def _cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """``couponflow ARGS`` in a fresh process with only ``env`` set (Prefect's home left to the CLI,
    HOME/prefect, so that a Prefect start would leave its database there)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("COUPONFLOW_", "PREFECT_"))}
    clean.update({"PYTHONPATH": str(REPO), "COUPONFLOW_HOME": str(tmp_path / "home"), **env})
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "flows.cli", *args], cwd=tmp_path, env=clean, capture_output=True, text=True, timeout=300
    )
    print(f"couponflow {' '.join(args)}: exit {proc.returncode} in {time.perf_counter() - t0:.1f} s")
    return proc


def _one_line(proc: subprocess.CompletedProcess) -> str:
    out = (proc.stdout + proc.stderr).strip()
    assert len(out.splitlines()) == 1 and "Traceback" not in out, out
    assert SECRET not in out
    return out


def _nothing_started(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert not (home / "prefect" / "prefect.db").exists()  # no Prefect server, no flow run
    assert not (home / "lake").exists() and not (home / "warehouse.duckdb").exists()
    assert not kept_runs(home)  # no run, so no run record


def _s3(endpoint: str, bucket: str = "lake") -> dict[str, str]:
    return {
        "COUPONFLOW_STORAGE": "s3",
        "COUPONFLOW_S3_ENDPOINT_URL": endpoint,
        "COUPONFLOW_S3_BUCKET": bucket,
        "COUPONFLOW_S3_ACCESS_KEY_ID": ACCESS_KEY,
        "COUPONFLOW_S3_SECRET_ACCESS_KEY": SECRET,
    }


def test_an_endpoint_without_its_scheme_is_one_line_exit_2(tmp_path):
    """The defect: "127.0.0.1:8333" gave 51 lines of boto3 traceback."""
    proc = _cli(tmp_path, "daily", "--date", "2017-01-02", **_s3("127.0.0.1:8333"))
    assert proc.returncode == 2
    line = _one_line(proc)
    assert "COUPONFLOW_S3_ENDPOINT_URL" in line and "'127.0.0.1:8333'" in line and "http://127.0.0.1:8333" in line
    _nothing_started(tmp_path)


@pytest.mark.parametrize(
    "args",
    [
        ["daily", "--date", "2017-01-02"],
        ["backfill", "--start", "2017-01-02", "--end", "2017-01-03"],
        ["train"],
        ["rollback", "--to", "v0"],
        ["report", "--date", "2017-01-02"],
        ["status"],
    ],
    ids=lambda a: a[0],
)
def test_an_endpoint_that_cannot_be_reached_is_said_before_prefect_starts(tmp_path, args):
    """The defect: a wrong endpoint took 23 s to say so, because Prefect started before any check."""
    proc = _cli(tmp_path, *args, **_s3(f"http://127.0.0.1:{free_port()}"))
    assert proc.returncode == 5  # infrastructure unreachable: a scheduler retries
    line = _one_line(proc)
    assert "cannot reach" in line and "COUPONFLOW_S3_ENDPOINT_URL" in line
    _nothing_started(tmp_path)


def test_a_bucket_with_a_typo_is_refused_and_never_created(tmp_path, seaweed, s3_bucket):
    """The defect: the failed run's record created the typo's bucket (SeaweedFS creates one on a
    PUT), and the next run with the same typo exited 0 and published a whole lake there."""
    typo = s3_bucket + "x"
    for _ in range(2):
        proc = _cli(tmp_path, "daily", "--date", "2017-01-02", **_s3(seaweed["endpoint"], typo))
        assert proc.returncode == 2  # a setting is wrong: a scheduler does not retry
        line = _one_line(proc)
        assert f"bucket {typo!r} does not exist" in line and "COUPONFLOW_S3_BUCKET" in line
        assert typo not in {b["Name"] for b in seaweed["client"].list_buckets()["Buckets"]}
        _nothing_started(tmp_path)
    proc = _cli(tmp_path, "status", **_s3(seaweed["endpoint"], typo))
    assert proc.returncode == 2 and "COUPONFLOW_S3_BUCKET" in _one_line(proc)
    proc = _cli(tmp_path, "status", **_s3(seaweed["endpoint"], s3_bucket))  # the right name works
    assert proc.returncode == 0, proc.stderr
    assert f"s3://{s3_bucket}/couponflow" in proc.stdout and SECRET not in proc.stdout + proc.stderr


def test_a_bad_setting_is_one_line_that_names_it(tmp_path):
    proc = _cli(tmp_path, "daily", "--date", "2017-01-02", COUPONFLOW_BUDGET_PER_DAY="abc")
    assert proc.returncode == 2
    line = _one_line(proc)
    assert "COUPONFLOW_BUDGET_PER_DAY" in line and "'abc'" in line and "Fix" in line
    _nothing_started(tmp_path)


def test_bad_arguments_are_one_line_exit_2_before_any_work(tmp_path):
    proc = _cli(tmp_path, "report", "--date", "2017-03-03")  # a fresh local home: no run reached it
    assert proc.returncode == 2
    line = _one_line(proc)
    assert "no run has reached 2017-03-03" in line and "couponflow daily --date 2017-03-03" in line
    proc = _cli(tmp_path, "daily", "--replay")
    assert proc.returncode == 2 and "--replay needs --date" in _one_line(proc)
    _nothing_started(tmp_path)


def test_the_local_default_needs_no_set_up(tmp_path):
    proc = _cli(tmp_path, "status")
    assert proc.returncode == 0, proc.stderr
    assert "published run dates: 0" in proc.stdout


def test_a_failed_run_keeps_its_record_in_the_home_when_the_lake_cannot_take_it(tmp_path, seaweed, s3_bucket):
    """The run record of a failed run is not lost, is not written into the store that failed (where
    it would create the bucket), and the failure's line names the stage and its cause, not the
    record's write."""
    typo = s3_bucket + "x"
    settings = load_settings(home=tmp_path / "home", storage="s3", s3_bucket=typo)
    store = S3Store(typo, "couponflow", seaweed["endpoint"], access_key_id=ACCESS_KEY, secret_access_key=SECRET)
    res = Resources(settings, store, None, None)  # type: ignore[arg-type]  # the run below needs the store only
    record = RunRecord(str(uuid.uuid4()), "daily", {"run_date": "2017-01-02"})
    with pytest.raises(StoreMisconfigured) as exc, recorded(res, record), record.stage("land"):
        store.list("raw/")
    line = failure_line(exc.value)
    assert line.startswith(f"daily failed in stage land: bucket {typo!r} does not exist"), line
    assert "COUPONFLOW_S3_BUCKET" in line and "PUT" not in line
    (kept,) = kept_runs(settings.home_dir)
    assert f"run record kept in {kept}" in line and kept.parent == settings.home_dir
    saved = json.loads(kept.read_text())
    assert saved["status"] == "failed" and saved["failed_stage"] == "land" and typo in saved["error"]
    assert "the lake could not take it" in saved["kept_because"]
    assert sorted(p.name for p in settings.home_dir.iterdir()) == [kept.name]  # no folder was created
    assert typo not in {b["Name"] for b in seaweed["client"].list_buckets()["Buckets"]}
