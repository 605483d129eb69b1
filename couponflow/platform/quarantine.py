"""The one quarantine writer: ``quarantine/<gate>/date=D/<table>/`` holds what a gate rejected
(the data it validated) and the validation result, so an operator can see both."""

from __future__ import annotations

from datetime import date

from couponflow.platform import manifest
from couponflow.platform.gate_results import GateResult
from couponflow.platform.lake import VALIDATION, quarantine_prefix
from couponflow.platform.storage import ObjectStore


def write_quarantine(store: ObjectStore, result: GateResult, day: date | None, files: dict[str, bytes]) -> str:
    """Write the rejected ``files`` and ``result``'s validation; returns the prefix written."""
    prefix = quarantine_prefix(result.gate, day, result.table)
    for name, data in sorted(files.items()):
        store.put(f"{prefix}/{name}", data)
    store.put(f"{prefix}/{VALIDATION}", manifest.to_json_bytes(result.to_dict()))
    return prefix
