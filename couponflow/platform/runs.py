"""Run records: ``runs/<run_id>.json``, one per flow run, the history that ``status`` reads.

Unlike manifests, a run record holds times and ids: it says what happened, when, and with
which versions and gate results.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from couponflow.platform import lake, manifest
from couponflow.platform.storage import ObjectStore
from couponflow.platform.version import code_version


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

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = round(self.stages.get(name, 0.0) + time.perf_counter() - t0, 3)

    def finish(self, store: ObjectStore, status: str, error: str | None = None) -> None:
        self.status, self.error, self.finished_at = status, error, _now()
        store.put(lake.run_record_key(self.run_id), manifest.to_json_bytes(asdict(self)))


def read_runs(store: ObjectStore, limit: int = 10) -> list[dict[str, Any]]:
    """The most recent run records, newest first."""
    records = [json.loads(store.get(k)) for k in store.list(lake.RUNS + "/") if k.endswith(".json")]
    records.sort(key=lambda r: r.get("started_at", ""), reverse=True)
    return records[:limit]
