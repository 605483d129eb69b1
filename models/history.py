"""Households' daily history, cut at an as-of date in one place.

The ``household_category_days`` mart holds, per household, day and product category, what was
spent (and on how many lines, how many with a coupon). It has no as-of grain: a day's rows never
change once landed, so one table serves every as-of date, and the model cuts it here. A feature
for an offer made on day S uses only rows dated before S (DESIGN's point-in-time rule, the same
cut as the dbt macro ``before_as_of``); ``models.affinity`` and ``models.sequences`` read the
history only through :func:`before`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

DATE = "transaction_date"
COLUMNS = ("household_id", DATE, "product_category", "department_group", "spend", "lines", "coupon_lines")
DEPARTMENT_GROUPS = ("GROCERY", "DRUG GM", "PRODUCE", "MEAT", "DELI", "FUEL", "PASTRY", "OTHER")


@dataclass(frozen=True)
class History:
    """The marts the embeddings and the sequences are built from.

    ``days``: household_category_days (``COLUMNS``); ``campaign_categories``: campaign_id,
    product_category, n_products (the categories of each campaign's coupon products)."""

    days: pd.DataFrame
    campaign_categories: pd.DataFrame

    def __post_init__(self) -> None:
        missing = [c for c in COLUMNS if c not in self.days.columns]
        if missing:
            raise ValueError(f"the household history lacks columns {missing}: rebuild the marts (dbt build)")
        dated = pd.to_datetime(self.days[DATE])
        object.__setattr__(self, "days", self.days.assign(**{DATE: dated}))

    def before(self, as_of: pd.Timestamp | str) -> pd.DataFrame:
        return before(self.days, as_of)

    @cached_property
    def coded(self) -> Coded:
        """The rows as integer codes, for the sums the embeddings and sequences take at every S."""
        h, households = pd.factorize(self.days["household_id"], sort=True)
        c, categories = pd.factorize(self.days["product_category"].astype(str), sort=True)
        groups = {g: i for i, g in enumerate(DEPARTMENT_GROUPS)}
        dept = self.days["department_group"].map(groups).fillna(groups["OTHER"]).to_numpy(dtype=np.int64)
        return Coded(
            np.asarray(households),
            np.asarray(categories, dtype=str),
            h,
            c,
            dept,
            self.days[DATE].to_numpy().astype("datetime64[D]").astype(np.int64),
            self.days["spend"].to_numpy(dtype=float),
            self.days["coupon_lines"].to_numpy(dtype=float),
        )


@dataclass(frozen=True)
class Coded:
    """``History.days`` as arrays: household and category codes index the sorted ids of the whole
    table, so a sum over the rows before S, restricted to the ids present before S, is the same
    whatever came after S (the point-in-time tests check it)."""

    households: np.ndarray
    categories: np.ndarray
    household: np.ndarray
    category: np.ndarray
    department: np.ndarray
    day: np.ndarray  # days since 1970-01-01
    spend: np.ndarray
    coupon_lines: np.ndarray

    def before(self, as_of: pd.Timestamp | str) -> np.ndarray:
        """The mask of the rows dated before ``as_of``."""
        return self.day < np.datetime64(pd.Timestamp(as_of), "D").astype(np.int64)


def before(days: pd.DataFrame, as_of: pd.Timestamp | str) -> pd.DataFrame:
    """The rows dated before ``as_of`` (strictly: the as-of day itself is the future)."""
    return days[days[DATE].to_numpy() < np.datetime64(pd.Timestamp(as_of))]


def age_days(days: pd.DataFrame, as_of: pd.Timestamp | str) -> np.ndarray:
    """Days from each row's date to ``as_of`` (1 = the day before), like the macro ``days_before``."""
    return ((pd.Timestamp(as_of) - days[DATE]).dt.days).to_numpy()
