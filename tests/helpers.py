"""Test helpers: sources whose upstream data is changed, and homes built from them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa

from couponflow.app.decision_inputs import load_candidates
from couponflow.app.ingest import land_through
from couponflow.app.publishing import DECISIONS_SCHEMA, SENDS_SCHEMA
from couponflow.platform.config import Settings, load_settings
from couponflow.platform.resources import Resources
from couponflow.platform.storage import LocalStore
from couponflow.platform.warehouse import Warehouse, expose_lake, run_dbt
from models.decision import CampaignDecision, decide

Transform = Callable[[str, date, pa.Table], pa.Table]


class TransformedSource:
    """The real Complete Journey source with ``transform(table, day, rows)`` applied to daily tables."""

    def __init__(self, source, transform: Transform):
        self._source, self._transform = source, transform
        self.name, self.first_day, self.last_day = source.name, source.first_day, source.last_day
        self.answers_our_sends = source.answers_our_sends

    def days(self) -> list[date]:
        return self._source.days()

    def day(self, table: str, d: date) -> pa.Table:
        return self._transform(table, d, self._source.day(table, d))

    def snapshot(self, table: str) -> pa.Table:
        return self._source.snapshot(table)


def corrupted(source, table: str, day: date, corrupt: Callable[[pa.Table], pa.Table]) -> TransformedSource:
    """The source with one table's day replaced by ``corrupt(rows)``."""
    return TransformedSource(source, lambda t, d, rows: corrupt(rows) if (t, d) == (table, day) else rows)


def null_household(table: pa.Table) -> pa.Table:
    i = table.schema.get_field_index("household_id")
    values = table["household_id"].to_pylist()
    values[0] = None
    return table.set_column(i, "household_id", pa.array(values, pa.int64()))


def replace_column(table: pa.Table, column: str, values, typ=None) -> pa.Table:
    i = table.schema.get_field_index(column)
    return table.set_column(i, column, pa.array(values, typ or table.schema.field(column).type))


def build_home(home: Path, source, through: date, *dbt_args: str) -> Settings:
    """Land ``source`` through ``through`` into a local lake under ``home`` and dbt-build it."""
    settings = load_settings(home=home)
    store = LocalStore(settings.lake_dir)
    land_through(store, source, through)
    expose_lake(settings, store)
    run_dbt(settings, "build", *dbt_args)
    return settings


def resources(settings: Settings, store, source) -> Resources:
    return Resources(settings, store, source, Warehouse(settings))


def decide_day(res: Resources, day: date, scorer, settings: Settings | None = None) -> CampaignDecision:
    """The day's decision on the warehouse's candidates (no contact history)."""
    return decide(settings or res.settings, day, load_candidates(res.warehouse, day), scorer)


def handmade_decision(
    day: date, households: list[int], campaign_id: int = 8, scores: list[float] | None = None
) -> CampaignDecision:
    """A decision of ``day`` sending ``campaign_id`` to ``households`` (every one chosen), for
    tests of what is done with published decisions rather than how they are made."""
    sends = pd.DataFrame(
        {
            "household_id": households,
            "campaign_id": [campaign_id] * len(households),
            "score": scores if scores is not None else [0.5] * len(households),
            "propensity": [1.0] * len(households),
            "arm": ["exploit"] * len(households),
            "expected_cost": [1.0] * len(households),
        }
    )
    decisions = sends.assign(run_date=day, campaign_type="TypeA", status="eligible", chosen=True, p_selected=1.0)
    return CampaignDecision(
        day, sends[SENDS_SCHEMA.names], decisions[DECISIONS_SCHEMA.names], {"sends": len(sends)}, {"version": "v0"}
    )
