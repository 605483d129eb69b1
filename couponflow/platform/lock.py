"""One run per home at a time: the home's lock.

Every command that writes the home or the lake holds ``HOME/.lock`` (an OS file lock through
``filelock``: ``flock`` on Unix) for as long as it runs. A second run waits up to
``COUPONFLOW_LOCK_WAIT_S`` seconds for it and is then refused with :class:`HomeLocked`, whose
message is one line: the run that holds the home and the fix. Without it, two runs started a
second apart fail deep inside DuckDB ("Could not set lock on file .../warehouse.duckdb") or
race on the lake.

The OS releases the lock when its process ends, however it ends (``kill -9`` included), so a
crashed run never blocks the next one. The holder also writes ``HOME/.lock.holder.json`` (pid,
host, command line, start time in UTC), removed on release; it is only information for the
message of a refused run. A killed holder leaves it behind: the next run that gets the lock
overwrites it, and a refused run names a holder only if the record belongs to a live process,
so a stale record is never reported as the run that holds the home.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from couponflow.platform.config import Settings

LOCK_NAME = ".lock"
HOLDER_NAME = ".lock.holder.json"


class HomeLocked(RuntimeError):
    """Another run holds the home past the wait; the message (one line) names it and the fix."""


@dataclass(frozen=True)
class Holder:
    """Who holds a home's lock, as its sidecar records it."""

    pid: int
    host: str
    command: str
    started_at: str  # ISO 8601, UTC, to the second


def lock_path(settings: Settings) -> Path:
    return settings.home_dir / LOCK_NAME


def holder_path(settings: Settings) -> Path:
    return settings.home_dir / HOLDER_NAME


def read_holder(settings: Settings) -> Holder | None:
    """The recorded holder, or None when there is no readable record."""
    try:
        raw = json.loads(holder_path(settings).read_text(encoding="utf-8"))
        return Holder(int(raw["pid"]), str(raw["host"]), str(raw["command"]), str(raw["started_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user: alive
        return True
    return True


def _write_holder(settings: Settings, holder: Holder) -> None:
    """Replace the record in one rename, so a reader never sees half of it."""
    fd, tmp = tempfile.mkstemp(prefix=HOLDER_NAME + ".", dir=settings.home_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(asdict(holder), fh, sort_keys=True)
        os.replace(tmp, holder_path(settings))
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


def _refusal(settings: Settings, waited: float) -> str:
    holder = read_holder(settings)
    if holder is None:
        who = "another run (it has not recorded itself yet)"
    elif holder.host == socket.gethostname() and not _alive(holder.pid):
        # a killed run's leftover record: whoever holds the lock now has not written its own yet
        who = f"another run (the record there names pid {holder.pid}, which is no longer running)"
    else:
        who = f"pid {holder.pid} on {holder.host}, `{holder.command}`, since {holder.started_at}"
    return (
        f"home {settings.home_dir} is held by {who}; waited {waited:g}s: wait for it to finish and run again, "
        f"or set COUPONFLOW_LOCK_WAIT_S above {waited:g} to wait longer"
    )


@contextmanager
def home_lock(settings: Settings, command: str) -> Iterator[Holder]:
    """Hold the home's lock for the block, waiting up to ``settings.lock_wait_s`` seconds for it.

    Raises :class:`HomeLocked` (one line naming the holder) if another run still holds it then.
    Not re-entrant: one process takes it once, at the start of a command.
    """
    home = settings.home_dir
    home.mkdir(parents=True, exist_ok=True)
    wait = settings.lock_wait_s
    # fallback_to_soft=False: a file system without flock would get a marker file that a killed
    # run leaves behind and that blocks every later run; refuse loudly instead
    lock = FileLock(lock_path(settings), timeout=wait, fallback_to_soft=False)
    try:
        lock.acquire()
    except Timeout:
        raise HomeLocked(_refusal(settings, wait)) from None
    try:
        holder = Holder(
            pid=os.getpid(),
            host=socket.gethostname(),
            command=command,
            started_at=datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        )
        _write_holder(settings, holder)
        yield holder
    finally:
        with suppress(FileNotFoundError):
            holder_path(settings).unlink()  # while still holding the lock: never deletes a successor's
        lock.release()
