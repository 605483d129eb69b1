"""The logging policy: exploit the solver's choice, explore a share of each campaign's slots at
random, hold back a share of the selected as a per-campaign control, and log exact propensities.

For each campaign j with head-count cap[j]:
  1. ``m[j] = floor(explore_share * n[j])`` slots are kept for exploration, where ``n[j]`` is
     what campaign j would send with no exploration (the solver on the whole budget and caps:
     when the budget binds far below the caps, a share of the caps would turn most sends into
     exploration). Money is set aside for the worst draw they could make (all slots shrink
     alike when even the sum of the ``m[j]`` dearest eligible pairs of every j would exceed it).
  2. The solver fills the rest: budget minus that reserve, caps ``cap[j] - m[j]`` (arm exploit,
     selection probability 1).
  3. Every eligible household the solver left out joins the explore pool of the campaign it
     scores highest on (pools are disjoint, so draws are independent); ``min(m[j], N[j])`` of the
     ``N[j]`` households of pool j are drawn uniformly without replacement: each has selection
     probability exactly ``min(m[j], N[j]) / N[j]`` (arm explore).
  The reserve starts at the dearest ``m[j]`` pairs of each campaign, which wastes money: the
  pools hold what the solver left, mostly cheap low scorers. So the reserve is then set to the
  worst draw of the pools themselves (the ``m[j]`` dearest pool members) and the solver runs
  again, a few times; the best round whose exploit cost plus worst draw fits the budget is kept.
  All of it happens before any random draw, so it is a fixed function of the inputs and the
  propensities stay exact.
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
    arm: np.ndarray  # exploit | explore | holdout | not_chosen (eligible rows only)
    p_selected: np.ndarray  # probability that the pair was selected (exploit 1, explore m/N, else 0)
    propensity: np.ndarray  # probability that the pair is sent: p_selected * (1 - holdout_share)
    bound: float  # the solver's LP bound on the exploit part
    gap: float

    @property
    def sent(self) -> np.ndarray:
        return np.isin(self.arm, SENT_ARMS)


def seed_for(salt: str, run_date: str) -> int:
    """A seed fixed by the run date (and a salt): re-running a date draws the same numbers."""
    return int.from_bytes(hashlib.sha256(f"{salt}:{run_date}".encode()).digest()[:8], "big")


RESERVE_ROUNDS = 4


def _explore_pools(hh: np.ndarray, camp: np.ndarray, score: np.ndarray, exploit: np.ndarray) -> dict[int, np.ndarray]:
    """Disjoint explore pools: each household with no exploit pick, in its best-scoring campaign."""
    free = np.flatnonzero(~np.isin(hh, hh[exploit]))
    if not len(free):
        return {}
    order = free[np.lexsort((camp[free], -score[free], hh[free]))]
    first = np.r_[True, hh[order][1:] != hh[order][:-1]]
    rows = order[first]
    return {int(j): np.sort(rows[camp[rows] == j]) for j in np.unique(camp[rows])}


def _worst_draw(pools: dict[int, np.ndarray], slots: dict[int, int], cost: np.ndarray) -> float:
    """The most the explore draws could cost: the ``slots[j]`` dearest members of each pool."""
    total = 0.0
    for j, members in pools.items():
        m = min(slots.get(j, 0), len(members))
        if m:
            total += float(np.sort(cost[members])[-m:].sum())
    return total


def decide_arms(
    household_id: np.ndarray,
    campaign_id: np.ndarray,
    score: np.ndarray,
    cost: np.ndarray,
    budget: float,
    campaign_cap: dict[int, int],
    config: PolicyConfig,
    rng: np.random.Generator,
) -> PolicyDecision:
    """The logging policy over eligible pairs (see the module's docstring)."""
    n = len(household_id)
    hh, camp = np.asarray(household_id), np.asarray(campaign_id)
    score, cost = np.asarray(score, float), np.asarray(cost, float)
    slots = {j: 0 for j in campaign_cap}
    if config.explore_share > 0 and n:
        greedy = solve(AllocationProblem(hh, camp, score, cost, budget, campaign_cap, config.max_per_household))
        sends = dict(zip(*np.unique(camp[greedy.chosen], return_counts=True)))
        slots = {j: int(np.floor(config.explore_share * sends.get(j, 0))) for j in campaign_cap}
    everyone = {int(j): np.flatnonzero(camp == j) for j in np.unique(camp)}
    reserve = _worst_draw(everyone, slots, cost)
    while reserve > budget:  # even the first reserve may not exceed the budget: shrink every campaign's slots alike
        slots = {j: int(np.floor(m * budget / reserve)) for j, m in slots.items()}
        reserve = _worst_draw(everyone, slots, cost)
    caps = {j: cap - slots.get(j, 0) for j, cap in campaign_cap.items()}
    best = None
    for _ in range(RESERVE_ROUNDS):
        solution = solve(
            AllocationProblem(hh, camp, score, cost, max(budget - reserve, 0.0), caps, config.max_per_household)
        )
        pools = _explore_pools(hh, camp, score, solution.chosen)
        worst = _worst_draw(pools, slots, cost)
        if cost[solution.chosen].sum() + worst <= budget + 1e-9 and (best is None or solution.value > best[0].value):
            best = (solution, pools)
        if worst >= reserve - 1e-9:
            break
        reserve = worst
    assert best is not None  # the first round always fits: its reserve covers the dearest draw of any pool
    solution, pools = best
    exploit = solution.chosen
    p_selected = exploit.astype(float)
    arm = np.where(exploit, EXPLOIT, NOT_CHOSEN).astype(object)
    for j, members in pools.items():
        m = min(slots.get(j, 0), len(members))
        if m == 0:
            continue
        p_selected[members] = m / len(members)
        arm[rng.choice(members, size=m, replace=False)] = EXPLORE

    selected = np.isin(arm, SENT_ARMS)
    held = selected & (rng.random(n) < config.holdout_share)
    arm[held] = HOLDOUT
    return PolicyDecision(
        arm.astype(str), p_selected, p_selected * (1 - config.holdout_share), solution.bound, solution.gap
    )
