"""One run per home at a time: the home's lock, between real processes.

Each test starts real processes (the repository's interpreter with ``-c``, or the real CLI with
``-m flows.cli``) on a fresh home; nothing here fakes the OS lock.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from couponflow.platform.config import load_settings
from couponflow.platform.lock import HomeLocked, holder_path, home_lock, lock_path, read_holder

ROOT = Path(__file__).resolve().parents[2]

# holds the home's lock until the file argv[1] appears (or 120 s), then releases it and says so
HOLDER = """
import sys, time
from pathlib import Path
from couponflow.platform.config import load_settings
from couponflow.platform.lock import home_lock
release = Path(sys.argv[1])
with home_lock(load_settings(), "couponflow daily --date 2017-10-30"):
    print("held", flush=True)
    deadline = time.monotonic() + 120
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
print("released", flush=True)
"""

# announces that it is about to wait, waits for the lock (COUPONFLOW_LOCK_WAIT_S), reports what it saw
WAITER = """
import json, os, time
from couponflow.platform.config import load_settings
from couponflow.platform.lock import home_lock, read_holder
settings = load_settings()
print("waiting", flush=True)
t0 = time.monotonic()
with home_lock(settings, "couponflow train"):
    waited = time.monotonic() - t0
    print(json.dumps({"waited": waited, "holder_pid": read_holder(settings).pid, "pid": os.getpid()}), flush=True)
"""

# holds the lock with filelock alone: a live holder that has written no record
BARE_HOLDER = """
import sys, time
from filelock import FileLock
with FileLock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(120)
"""


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUPONFLOW_")}
    env.pop("PREFECT_HOME", None)  # the CLI then puts Prefect's home inside the home: we can see it stayed empty
    env.update({"COUPONFLOW_HOME": str(home), "COUPONFLOW_DBT_NODE_TASKS": "false", **extra})
    return env


def _start(code: str, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)


def _expect(proc: subprocess.Popen[str], line: str) -> None:
    assert proc.stdout is not None
    got = proc.stdout.readline().strip()
    assert got == line, f"helper said {got!r}, rc {proc.poll()}"


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def holder(home, tmp_path):
    """A real process that holds the home's lock until ``release()``; killed at the end whatever happens."""
    release_file = tmp_path / "release"
    proc = _start(HOLDER, str(release_file), env=_env(home))
    _expect(proc, "held")
    proc.release = lambda: release_file.touch()  # type: ignore[attr-defined]
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=30)


def test_cli_daily_is_refused_with_exit_4_naming_the_holder_before_anything_starts(home, holder):
    t0 = time.monotonic()
    cli = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "daily", "--date", "2017-10-30"],
        cwd=ROOT,
        env=_env(home, COUPONFLOW_LOCK_WAIT_S="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # a run that wrongly went ahead is stopped with everything it started
    )
    try:
        output, _ = cli.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(cli.pid, signal.SIGKILL)
        output, _ = cli.communicate()
        pytest.fail(f"the refused run was still running after 60 s: {output[-2000:]}")
    elapsed = time.monotonic() - t0
    assert cli.returncode == 4, output
    assert 1 <= elapsed < 60  # it waited its second, then gave up (the rest is the interpreter starting)
    lines = output.strip().splitlines()
    assert len(lines) == 1, lines
    line = lines[0]
    assert f"pid {holder.pid}" in line and "`couponflow daily --date 2017-10-30`" in line
    assert "since 20" in line and "COUPONFLOW_LOCK_WAIT_S" in line
    # nothing written into the lake, no warehouse, Prefect never started (its home, inside the home, is empty)
    assert not (home / "lake").exists() and not (home / "warehouse.duckdb").exists()
    assert list((home / "prefect").iterdir()) == []
    assert sorted(p.name for p in home.iterdir()) == [".lock", ".lock.holder.json", "prefect"]
    # the refused run left the holder's record alone, and the holder still holds the home
    settings = load_settings(home=home)
    assert read_holder(settings).pid == holder.pid
    holder.release()
    assert holder.wait(timeout=30) == 0


def test_a_waiting_run_gets_the_home_once_the_holder_releases_it(home, holder):
    waiter = _start(WAITER, env=_env(home, COUPONFLOW_LOCK_WAIT_S="60"))
    try:
        _expect(waiter, "waiting")
        time.sleep(0.5)
        assert waiter.poll() is None  # still waiting: the holder has it
        holder.release()
        out, _ = waiter.communicate(timeout=60)
    finally:
        if waiter.poll() is None:
            waiter.kill()
    assert waiter.returncode == 0
    seen = json.loads(out.strip().splitlines()[-1])
    assert seen["waited"] >= 0.4 and seen["holder_pid"] == seen["pid"] == waiter.pid
    assert holder.wait(timeout=30) == 0
    assert not holder_path(load_settings(home=home)).exists()  # released: the record went with it


def test_a_holder_killed_with_sigkill_leaves_the_home_free_despite_its_record(home, holder):
    settings = load_settings(home=home, lock_wait_s=0)
    holder.send_signal(signal.SIGKILL)
    assert holder.wait(timeout=30) == -signal.SIGKILL
    stale = read_holder(settings)
    assert stale is not None and stale.pid == holder.pid  # the killed run's record is still there
    t0 = time.monotonic()
    with home_lock(settings, "couponflow daily --date 2017-10-31") as me:  # no wait allowed: one attempt
        assert time.monotonic() - t0 < 1
        assert read_holder(settings) == me and me.pid == os.getpid()  # the stale record was replaced
    assert not holder_path(settings).exists()


def test_a_stale_record_is_never_named_as_the_holder(home, tmp_path):
    settings = load_settings(home=home, lock_wait_s=0)
    home.mkdir(parents=True)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(gone.stdout)
    holder_path(settings).write_text(
        json.dumps(
            {"pid": dead_pid, "host": os.uname().nodename, "command": "couponflow old", "started_at": "2017-01-01"}
        )
    )
    bare = _start(BARE_HOLDER, str(lock_path(settings)), env=_env(home))
    try:
        _expect(bare, "held")
        with pytest.raises(HomeLocked) as exc, home_lock(settings, "couponflow report --date 2017-10-30"):
            pass
    finally:
        bare.kill()
        bare.wait(timeout=30)
    message = str(exc.value)
    assert "\n" not in message
    assert f"held by pid {dead_pid}" not in message and "couponflow old" not in message
    assert f"pid {dead_pid}, which is no longer running" in message and "COUPONFLOW_LOCK_WAIT_S" in message


WRITERS = [
    ["daily", "--date", "2017-10-30"],
    ["daily", "--date", "2017-10-30", "--replay"],
    ["daily", "--catch-up"],
    ["backfill", "--start", "2017-10-30", "--end", "2017-10-31"],
    ["backfill", "--start", "2017-10-30", "--end", "2017-10-31", "--replay"],
    ["train"],
    ["rollback", "--to", "v0"],
    ["report", "--date", "2017-10-30"],
    ["backtest", "--cut", "2017-10-30"],
]


def test_every_writing_command_is_refused_while_another_run_holds_the_home(home, holder, monkeypatch):
    from couponflow.platform import manifest
    from couponflow.platform.storage import LocalStore
    from flows.cli import app

    monkeypatch.setenv("COUPONFLOW_HOME", str(home))
    monkeypatch.setenv("COUPONFLOW_LOCK_WAIT_S", "0")
    # a gate record of 2017-10-30, so that `report --date` has something to rebuild (a date no run
    # reached is bad input, exit 2 before the lock)
    lake = LocalStore(home / "lake")
    manifest.publish(lake, "gates/date=2017-10-30", {"gates.json": b"{}"}, {"kind": "gates"})
    seeded = lake.list("")
    for args in WRITERS:
        out = CliRunner().invoke(app, args)
        assert out.exit_code == 4, (args, out.output)
        assert f"pid {holder.pid}" in out.output, args
    assert lake.list("") == seeded  # nothing written
    # read-only: status does not take the lock; bad arguments are refused first (exit 2, not 4)
    assert CliRunner().invoke(app, ["status"]).exit_code == 0
    assert CliRunner().invoke(app, ["daily", "--date", "2030-01-01"]).exit_code == 2
    assert CliRunner().invoke(app, ["daily", "--replay"]).exit_code == 2
    forced = CliRunner().invoke(app, ["daily", "--catch-up", "--force"])
    assert forced.exit_code == 2 and "--catch-up decides unpublished dates only" in forced.output
    monkeypatch.setenv("COUPONFLOW_LOCK_WAIT_S", "-1")
    bad = CliRunner().invoke(app, ["daily", "--date", "2017-10-30"])
    assert bad.exit_code == 2 and "COUPONFLOW_LOCK_WAIT_S" in bad.output


def test_the_lock_is_released_when_a_command_ends(home, monkeypatch):
    """Inside one process (the CLI's own tests invoke commands one after another) a command frees the home."""
    from flows.cli import app

    monkeypatch.setenv("COUPONFLOW_HOME", str(home))
    monkeypatch.setenv("COUPONFLOW_LOCK_WAIT_S", "0")
    first = CliRunner().invoke(app, ["rollback", "--to", "v9"])  # refused by the registry (exit 2), lock taken
    assert first.exit_code == 2, first.output
    settings = load_settings(home=home, lock_wait_s=0)
    with home_lock(settings, "next"):
        pass
