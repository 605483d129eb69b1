"""The resources of one run, built once by the flow and passed to every step (the way Dagster
passes resources): the settings, the object store, the source and the warehouse."""

from __future__ import annotations

from dataclasses import dataclass

from couponflow.platform.config import Settings, load_settings
from couponflow.platform.sources import Source, get_source
from couponflow.platform.storage import ObjectStore, open_store
from couponflow.platform.warehouse import Warehouse


@dataclass(frozen=True)
class Resources:
    settings: Settings
    store: ObjectStore
    source: Source
    warehouse: Warehouse


def build_resources(settings: Settings | None = None) -> Resources:
    settings = settings or load_settings()
    return Resources(settings, open_store(settings), get_source(settings), Warehouse(settings))
