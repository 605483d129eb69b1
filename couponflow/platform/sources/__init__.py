"""Data sources that land days into the lake under the landing contract."""

from __future__ import annotations

from couponflow.platform.config import Settings
from couponflow.platform.sources.completejourney import CompleteJourneySource


def get_source(settings: Settings) -> CompleteJourneySource:
    if settings.source == "completejourney":
        return CompleteJourneySource()
    raise ValueError(f"unknown COUPONFLOW_SOURCE {settings.source!r}")  # pragma: no cover - Literal
