"""What a failing gate leaves behind: ``quarantine/<gate>/date=D/<table>/`` and a one-line stop.

``enforce(store, run, day)`` is the common ending of the marts and campaign gates: when any
table failed, its data (the DataFrame the gate validated) and its validation result are written
to the quarantine, and ``GateFailed`` stops the run before anything downstream is written. The
raw gate quarantines the rejected upstream file itself (``couponflow.ingest``).
"""

from __future__ import annotations

import io
from datetime import date

import pandas as pd

from couponflow import manifest
from couponflow.contract import quarantine_prefix
from couponflow.storage import ObjectStore
from expectations.runtime import GateFailed, GateRun

VALIDATION = "validation.json"


def _parquet(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def quarantine(store: ObjectStore, run: GateRun, day: date) -> list[str]:
    """Write each failing table's data and validation result; returns the prefixes written."""
    prefixes = []
    for result in run.failures:
        prefix = quarantine_prefix(result.gate, day, result.table)
        frame = run.frames.get(result.table)
        if frame is not None:
            store.put(f"{prefix}/{result.table}.parquet", _parquet(frame))
        store.put(f"{prefix}/{VALIDATION}", manifest.to_json_bytes(result.to_dict()))
        prefixes.append(prefix)
    return prefixes


def enforce(store: ObjectStore, run: GateRun, day: date) -> GateRun:
    """Pass the run through, or quarantine its failures and raise ``GateFailed``."""
    if run.failures:
        quarantine(store, run, day)
        raise GateFailed(run.failures, run.results)
    return run
