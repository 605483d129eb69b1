"""Budget-constrained assignment of campaigns to households (the v0 greedy solver).

Maximise the total value of the chosen (household, campaign) pairs subject to
  - sum of expected cost <= budget,
  - at most ``cap[c]`` households per campaign c,
  - at most ``max_per_household`` campaigns per household on the day.
The greedy rule takes pairs in order of value per unit of expected cost (ties broken by
household id, then campaign id, so the result is deterministic) and keeps each pair that still
fits every constraint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AllocationProblem:
    household_id: np.ndarray
    campaign_id: np.ndarray
    value: np.ndarray
    cost: np.ndarray
    budget: float
    campaign_cap: dict[int, int]
    max_per_household: int = 1

    def __post_init__(self) -> None:
        n = len(self.household_id)
        for name in ("campaign_id", "value", "cost"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} rows, household_id has {n}")
        if n and (np.any(self.cost <= 0) or not np.all(np.isfinite(self.cost))):
            raise ValueError("every expected cost must be finite and > 0 (add a contact cost)")
        if self.budget < 0:
            raise ValueError("budget must be >= 0")


def greedy_allocate(problem: AllocationProblem) -> np.ndarray:
    """Boolean mask of the chosen pairs."""
    p = problem
    chosen = np.zeros(len(p.household_id), dtype=bool)
    order = np.lexsort((p.campaign_id, p.household_id, -(p.value / p.cost)))
    remaining = float(p.budget)
    per_campaign: dict[int, int] = {}
    per_household: dict[int, int] = {}
    for i in order:
        h, c, cost = int(p.household_id[i]), int(p.campaign_id[i]), float(p.cost[i])
        if cost > remaining + 1e-12:
            continue
        if per_campaign.get(c, 0) >= p.campaign_cap.get(c, 0):
            continue
        if per_household.get(h, 0) >= p.max_per_household:
            continue
        chosen[i] = True
        remaining -= cost
        per_campaign[c] = per_campaign.get(c, 0) + 1
        per_household[h] = per_household.get(h, 0) + 1
    return chosen
