"""Data sources that land days into the lake under the landing contract (``base.Source``)."""

from __future__ import annotations

from couponflow.platform.config import Settings
from couponflow.platform.sources.base import Source
from couponflow.platform.sources.completejourney import CompleteJourneySource

__all__ = ["Source", "get_source"]


def get_source(settings: Settings) -> Source:
    """The source ``COUPONFLOW_SOURCE`` names."""
    if settings.source == "completejourney":
        return CompleteJourneySource()
    if settings.source == "synthetic":
        from couponflow.platform.sources.synthetic import SyntheticSource

        return SyntheticSource(settings.synth_households, settings.synth_seed)
    if settings.source == "dropzone":
        from couponflow.platform.sources.dropzone import DropZoneSource, open_zone

        return DropZoneSource(
            open_zone(settings), settings.dropzone_answers_our_sends, seen_dir=settings.home_dir / "dropzone-seen"
        )
    raise ValueError(f"unknown COUPONFLOW_SOURCE {settings.source!r}")  # pragma: no cover - Literal
