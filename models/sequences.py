"""Each household's weekly history before an as-of date S, as the sequence the GRU reads.

Week j (1 = the most recent) holds the days j*7-6 .. j*7 before S (ages as in the dbt macro
``days_before``: the day before S has age 1), for the ``WEEKS`` weeks before S; nothing dated S
or later (``models.history``). Per week: log1p(spend), the days it shopped, log1p(coupon lines)
and the share of its spend in each department group (household_features' eight). A week
without a purchase is all zeros; so is every week of a household without history.

The sequences are columns of the examples frame (``seq_wJJ_<feature>``, week-major), so that
they pass through the same preprocessing (fitted on training rows only) and the same training
loop as every other feature; the network (``models.networks.GRUNet``) takes them back out of
the numeric inputs and reads the weeks oldest first. Building them for one as-of date reads
only the last ``WEEKS`` weeks of the history, so scoring a day builds one date's sequences,
never a year's (benchmarks/model_quality.py measures it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.history import DEPARTMENT_GROUPS, History

WEEKS = 26
STEP_FEATURES: tuple[str, ...] = (
    "log_spend",
    "shopping_days",
    "log_coupon_lines",
    *(f"share_{g.lower().replace(' ', '_')}" for g in DEPARTMENT_GROUPS),
)
COLUMNS: tuple[str, ...] = tuple(f"seq_w{w:02d}_{f}" for w in range(1, WEEKS + 1) for f in STEP_FEATURES)
PREFIX = "seq_w"


def sequence_layout(numeric: list[str]) -> tuple[int, int, int] | None:
    """(first index, weeks, features per week) of the sequence columns among ``numeric``
    inputs (they are contiguous, week-major), or None when there are none."""
    idx = [i for i, c in enumerate(numeric) if c.startswith(PREFIX)]
    if not idx:
        return None
    if idx != list(range(idx[0], idx[0] + len(idx))) or len(idx) % len(STEP_FEATURES):
        raise ValueError("the sequence columns must be contiguous and whole weeks")
    return idx[0], len(idx) // len(STEP_FEATURES), len(STEP_FEATURES)


def weekly_tensor(history: History, as_of: pd.Timestamp | str, weeks: int = WEEKS) -> np.ndarray:
    """[every household of the history, weeks, features] as of ``as_of`` (week 0 = the last one)."""
    code = history.coded
    day_s = np.datetime64(pd.Timestamp(as_of), "D").astype(np.int64)
    age = day_s - code.day
    m = code.before(as_of) & (age <= 7 * weeks)
    h, week = code.household[m], (age[m] - 1) // 7
    n_h = len(code.households)
    cell = h * weeks + week
    size = n_h * weeks
    spend = np.bincount(cell, weights=np.clip(code.spend[m], 0, None), minlength=size)
    coupons = np.bincount(cell, weights=code.coupon_lines[m], minlength=size)
    days = np.unique(h * (7 * weeks + 1) + age[m])  # distinct (household, day) pairs
    shop = np.bincount((days // (7 * weeks + 1)) * weeks + (days % (7 * weeks + 1) - 1) // 7, minlength=size)
    dept = np.bincount(
        cell * len(DEPARTMENT_GROUPS) + code.department[m],
        weights=np.clip(code.spend[m], 0, None),
        minlength=size * len(DEPARTMENT_GROUPS),
    ).reshape(size, len(DEPARTMENT_GROUPS))
    shares = dept / np.where(spend > 0, spend, 1.0)[:, None]
    out = np.column_stack([np.log1p(spend), shop, np.log1p(coupons), shares])
    return out.reshape(n_h, weeks, len(STEP_FEATURES))


def sequences_as_of(pairs: pd.DataFrame, history: History, as_of: pd.Timestamp | str) -> pd.DataFrame:
    """The sequence columns of ``pairs``' households as of one date, aligned with ``pairs``."""
    tensor = weekly_tensor(history, as_of)
    row = pd.Index(history.coded.households).get_indexer(pairs["household_id"].to_numpy())
    flat = np.zeros((len(pairs), len(COLUMNS)))
    known = row >= 0
    flat[known] = tensor[row[known]].reshape(int(known.sum()), -1)
    return pd.DataFrame(flat, columns=list(COLUMNS), index=pairs.index)


def with_sequences(examples: pd.DataFrame, history: History) -> pd.DataFrame:
    """``examples`` with the sequence columns, each row's built as of its own as_of_date."""
    parts = [sequences_as_of(g, history, s) for s, g in examples.groupby("as_of_date", sort=True)]
    seq = pd.concat(parts).reindex(examples.index) if parts else pd.DataFrame(index=examples.index, columns=COLUMNS)
    return pd.concat([examples.drop(columns=[c for c in COLUMNS if c in examples.columns]), seq], axis=1)
