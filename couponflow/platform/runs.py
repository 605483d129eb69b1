"""Run records: ``runs/<run_id>.json``, one per flow run, the history that ``status`` reads.

Unlike manifests, a run record holds times and ids: it says what happened, when, and with
which versions and gate results. A failed run whose record the lake cannot take (the store is
what failed) keeps it in the home folder, ``HOME/failed-run-<run_id>.json``: never in the
failing store, where a write could create the bucket of a typo (some S3 servers do).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from couponflow.platform import lake, manifest
from couponflow.platform.storage import ObjectStore
from couponflow.platform.version import code_version

KEPT_PREFIX = "failed-run-"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class RunRecord:
    run_id: str
    flow: str
    parameters: dict[str, Any]
    started_at: str = field(default_factory=_now)
    finished_at: str | None = None
    status: str = "running"
    code_version: str = field(default_factory=code_version)
    stages: dict[str, float] = field(default_factory=dict)  # stage -> seconds
    gates: list[dict[str, Any]] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    failed_stage: str | None = None  # the stage the error came out of (None: before any stage)
    kept_because: str | None = None  # why the record is in the home, not the lake

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        except BaseException:
            self.failed_stage = self.failed_stage or name
            raise
        finally:
            self.stages[name] = round(self.stages.get(name, 0.0) + time.perf_counter() - t0, 3)

    def finish(
        self, store: ObjectStore, status: str, error: str | None = None, *, home: Path | None = None
    ) -> Path | None:
        """Write the record into the lake. With ``home``, a record the lake cannot take is written
        to ``home/failed-run-<run_id>.json`` instead (no folder but the home itself is created) and
        its path returned; without, the store's error is raised."""
        self.status, self.error, self.finished_at = status, error, _now()
        try:
            store.put(lake.run_record_key(self.run_id), manifest.to_json_bytes(asdict(self)))
            return None
        except Exception as exc:
            if home is None:
                raise
            self.kept_because = f"the lake could not take it: {exc}"
        home.mkdir(parents=True, exist_ok=True)
        path = home / f"{KEPT_PREFIX}{self.run_id}.json"
        path.write_bytes(manifest.to_json_bytes(asdict(self)))
        return path


def read_runs(store: ObjectStore, limit: int = 10) -> list[dict[str, Any]]:
    """The most recent run records, newest first."""
    records = [json.loads(store.get(k)) for k in store.list(lake.RUNS + "/") if k.endswith(".json")]
    records.sort(key=lambda r: r.get("started_at", ""), reverse=True)
    return records[:limit]


def kept_runs(home: Path) -> list[Path]:
    """Records of failed runs that the lake could not take, kept in the home folder."""
    return sorted(home.glob(f"{KEPT_PREFIX}*.json")) if home.is_dir() else []
