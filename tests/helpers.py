"""Test helpers: bad upstream data built from real partitions."""

from __future__ import annotations

from datetime import date
from typing import Callable

import pyarrow as pa


class CorruptedSource:
    """The real Complete Journey source, except that one table's day is replaced by ``corrupt(day)``."""

    def __init__(self, source, table: str, day: date, corrupt: Callable[[pa.Table], pa.Table]):
        self._source, self._table, self._day, self._corrupt = source, table, day, corrupt
        self.name, self.first_day, self.last_day = source.name, source.first_day, source.last_day

    def day(self, table: str, d: date) -> pa.Table:
        part = self._source.day(table, d)
        return self._corrupt(part) if (table, d) == (self._table, self._day) else part

    def snapshot(self, table: str) -> pa.Table:
        return self._source.snapshot(table)


def null_household(table: pa.Table) -> pa.Table:
    i = table.schema.get_field_index("household_id")
    values = table["household_id"].to_pylist()
    values[0] = None
    return table.set_column(i, "household_id", pa.array(values, pa.int64()))
