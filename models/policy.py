"""The logging policy: exploit the solver's choice, explore a share of each campaign's slots at
random, hold back a share of the selected as a per-campaign control, and log exact propensities.

For each campaign j with head-count cap[j]:
  1. ``m[j] = floor(explore_share * cap[j])`` slots are kept for exploration, with the money
     they could cost at most (``m[j]`` x the dearest eligible pair of j) set aside (all slots
     shrink alike when that reserve would exceed the budget).
  2. The solver fills the rest: budget minus that reserve, caps ``cap[j] - m[j]`` (arm exploit,
     selection probability 1).
  3. Every eligible household the solver left out joins the explore pool of the campaign it
     scores highest on (pools are disjoint, so draws are independent); ``min(m[j], N[j])`` of the
     ``N[j]`` households of pool j are drawn uniformly without replacement: each has selection
     probability exactly ``min(m[j], N[j]) / N[j]`` (arm explore).
  4. Each selected pair is held back with probability ``holdout_share`` (arm holdout: not sent).
A pair's logged ``propensity`` is its probability of being sent, ``p_selected * (1 - holdout)``,
the quantity off-policy estimators divide by. Randomness comes from a seed fixed by the run
date, so the same inputs give the same decision.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from models.allocation import AllocationProblem, solve

EXPLOIT, EXPLORE, HOLDOUT, NOT_CHOSEN = "exploit", "explore", "holdout", "not_chosen"
SENT_ARMS = (EXPLOIT, EXPLORE)


@dataclass(frozen=True)
class PolicyConfig:
    explore_share: float = 0.10
    holdout_share: float = 0.10
    max_per_household: int = 1


@dataclass(frozen=True)
class PolicyDecision:
    arm: np.ndarray          # exploit | explore | holdout | not_chosen (eligible rows only)
    p_selected: np.ndarray   # probability that the pair was selected (exploit 1, explore m/N, else 0)
    propensity: np.ndarray   # probability that the pair is sent: p_selected * (1 - holdout_share)
    bound: float             # the solver's LP bound on the exploit part
    gap: float

    @property
    def sent(self) -> np.ndarray:
        return np.isin(self.arm, SENT_ARMS)


def seed_for(salt: str, run_date: str) -> int:
    """A seed fixed by the run date (and a salt): re-running a date draws the same numbers."""
    return int.from_bytes(hashlib.sha256(f"{salt}:{run_date}".encode()).digest()[:8], "big")


def decide_arms(
    household_id: np.ndarray, campaign_id: np.ndarray, score: np.ndarray, cost: np.ndarray,
    budget: float, campaign_cap: dict[int, int], config: PolicyConfig, rng: np.random.Generator,
) -> PolicyDecision:
    """The logging policy over eligible pairs (see the module's docstring)."""
    n = len(household_id)
    hh, camp = np.asarray(household_id), np.asarray(campaign_id)
    dearest = {int(j): float(cost[camp == j].max()) for j in np.unique(camp)}
    explore_slots = {j: int(np.floor(config.explore_share * cap)) for j, cap in campaign_cap.items()}
    reserve = sum(m * dearest.get(j, 0.0) for j, m in explore_slots.items())
    if reserve > budget:  # the reserve may never exceed the budget: shrink every campaign's slots alike
        explore_slots = {j: int(np.floor(m * budget / reserve)) for j, m in explore_slots.items()}
        reserve = sum(m * dearest.get(j, 0.0) for j, m in explore_slots.items())
    solution = solve(AllocationProblem(
        hh, camp, np.asarray(score, float), np.asarray(cost, float), max(budget - reserve, 0.0),
        {j: cap - explore_slots.get(j, 0) for j, cap in campaign_cap.items()}, config.max_per_household,
    ))
    exploit = solution.chosen
    p_selected = exploit.astype(float)
    arm = np.where(exploit, EXPLOIT, NOT_CHOSEN).astype(object)

    # disjoint explore pools: households with no exploit pick, each in its best-scoring campaign
    taken = np.isin(hh, hh[exploit])
    free = np.flatnonzero(~taken)
    if len(free):
        order = free[np.lexsort((camp[free], -np.asarray(score)[free], hh[free]))]
        first = np.r_[True, hh[order][1:] != hh[order][:-1]]
        pool_rows = order[first]  # one row per free household: its best campaign
        for j in np.unique(camp[pool_rows]):
            members = np.sort(pool_rows[camp[pool_rows] == j])
            m = min(explore_slots.get(int(j), 0), len(members))
            if m == 0:
                continue
            p_selected[members] = m / len(members)
            drawn = rng.choice(members, size=m, replace=False)
            arm[drawn] = EXPLORE

    selected = np.isin(arm, SENT_ARMS)
    held = selected & (rng.random(n) < config.holdout_share)
    arm[held] = HOLDOUT
    return PolicyDecision(arm.astype(str), p_selected, p_selected * (1 - config.holdout_share),
                          solution.bound, solution.gap)
