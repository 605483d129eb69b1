"""Budget-constrained assignment of campaigns to households: a Lagrangian-dual solver.

    maximise   sum v[i] x[i]                      over candidate pairs i = (household, campaign)
    subject to sum c[i] x[i] <= budget            (money)
               sum_{i in campaign j} x[i] <= cap[j]   (head-count per campaign)
               sum_{i of household h} x[i] <= k       (new campaigns per household per day)
               x[i] in {0, 1}

Dualising the budget (lambda) and the campaign caps (mu[j]) leaves, for each household, the
easy problem "take your k pairs of largest positive reduced value v - lambda c - mu[j]". The
solver bisects lambda on the budget, and for each lambda raises mu[j] of over-full campaigns
until none is over its cap (an auction). Every (lambda, mu) gives an upper bound on the LP
optimum (weak duality), so the reported gap is honest without an LP solver. The primal is the
dual's choice at a feasible lambda, repaired to satisfy every constraint, then topped up
greedily (value per cost) with what budget and caps leave. Everything is numpy over arrays of
pairs: millions of pairs fit on two cores.
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
        if n and not np.all(np.isfinite(self.value)):
            raise ValueError("every value must be finite (a NaN score reached the allocation)")
        if self.budget < 0:
            raise ValueError("budget must be >= 0")


@dataclass(frozen=True)
class Solution:
    chosen: np.ndarray      # boolean mask over the pairs
    value: float            # objective of the chosen pairs
    bound: float            # an upper bound on the LP optimum (so on any feasible choice)
    budget_multiplier: float
    iterations: int

    @property
    def gap(self) -> float:
        """Relative distance to the LP bound (0 = provably optimal)."""
        return (self.bound - self.value) / self.bound if self.bound > 0 else 0.0


class _Pairs:
    """The problem's pairs sorted by household, with integer codes for households and campaigns."""

    def __init__(self, p: AllocationProblem) -> None:
        order = np.lexsort((np.asarray(p.campaign_id), np.asarray(p.household_id)))
        self.order = order
        hh = np.asarray(p.household_id)[order]
        self.v = np.asarray(p.value, dtype=np.float64)[order]
        self.c = np.asarray(p.cost, dtype=np.float64)[order]
        campaigns, self.camp = np.unique(np.asarray(p.campaign_id)[order], return_inverse=True)
        self.cap = np.array([p.campaign_cap.get(int(j), 0) for j in campaigns], dtype=np.int64)
        self.starts = np.flatnonzero(np.r_[True, hh[1:] != hh[:-1]]) if len(hh) else np.zeros(0, np.int64)
        self.seg = np.cumsum(np.r_[False, hh[1:] != hh[:-1]]) if len(hh) else np.zeros(0, np.int64)
        self.k = p.max_per_household
        self.budget = float(p.budget)

    def pick(self, lam: float, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each household's k best pairs with positive reduced value: (selected indices, reduced)."""
        r = self.v - lam * self.c - mu[self.camp]
        if self.k == 1:
            best = np.maximum.reduceat(r, self.starts)
            is_best = (r == best[self.seg]) & (r > 0)
            idx = np.flatnonzero(is_best)
            # ties within a household: keep its first pair (lowest campaign id)
            keep = np.r_[True, self.seg[idx][1:] != self.seg[idx][:-1]] if len(idx) else idx.astype(bool)
            return idx[keep], r
        order = np.lexsort((-r, self.seg))
        rank = np.arange(len(r)) - self.starts[self.seg[order]]
        idx = order[(rank < self.k) & (r[order] > 0)]
        return np.sort(idx), r

    def dual_bound(self, lam: float, mu: np.ndarray, sel: np.ndarray, r: np.ndarray) -> float:
        return float(r[sel].sum() + lam * self.budget + (mu * self.cap).sum())

    def fit_caps(self, lam: float, mu: np.ndarray, rounds: int = 60) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Raise mu until no campaign is over its cap (auction); returns (mu, selection, reduced)."""
        mu = mu.copy()
        for _ in range(rounds):
            sel, r = self.pick(lam, mu)
            counts = np.bincount(self.camp[sel], minlength=len(self.cap))
            over = np.flatnonzero(counts > self.cap)
            if not len(over):
                return mu, sel, r
            for j in over:
                rj = np.sort(r[sel[self.camp[sel] == j]])[::-1]
                # lift mu[j] so that only cap[j] of the households now choosing j keep a positive margin
                mu[j] += rj[self.cap[j]] + 1e-12 if self.cap[j] < len(rj) else 0.0
        sel, r = self.pick(lam, mu)
        return mu, sel, r


def solve(problem: AllocationProblem, *, tol: float = 1e-5, max_bisections: int = 60) -> Solution:
    """Near-optimal feasible assignment with an LP upper bound (see the module's docstring)."""
    n = len(problem.household_id)
    if n == 0:
        return Solution(np.zeros(0, dtype=bool), 0.0, 0.0, 0.0, 0)
    P = _Pairs(problem)
    mu = np.zeros(len(P.cap))
    best_bound = np.inf
    mu0, sel, r = P.fit_caps(0.0, mu)
    best_bound = min(best_bound, P.dual_bound(0.0, mu0, sel, r))
    iterations = 1
    if P.c[sel].sum() <= P.budget:
        lam, mu_f, sel_f = 0.0, mu0, sel
    else:
        lo, hi = 0.0, float(np.max(P.v / P.c)) + 1.0
        lam, mu_f, sel_f = hi, np.zeros(len(P.cap)), np.zeros(0, dtype=np.int64)
        mu_warm = mu0
        for _ in range(max_bisections):
            mid = (lo + hi) / 2
            mu_mid, sel, r = P.fit_caps(mid, mu_warm * 0.5)
            iterations += 1
            best_bound = min(best_bound, P.dual_bound(mid, mu_mid, sel, r))
            spend = P.c[sel].sum()
            if spend <= P.budget:
                hi, lam, mu_f, sel_f = mid, mid, mu_mid, sel  # feasible: remember it
                if spend >= P.budget * (1 - tol):
                    break
            else:
                lo, mu_warm = mid, mu_mid
            if hi - lo < tol * max(hi, 1e-9):
                break
    chosen_sorted = _repair_and_fill(P, sel_f, lam, mu_f)
    chosen = np.zeros(n, dtype=bool)
    chosen[P.order[chosen_sorted]] = True
    value = float(np.asarray(problem.value)[chosen].sum())
    return Solution(chosen, value, max(best_bound, value), lam, iterations)


def _repair_and_fill(P: _Pairs, sel: np.ndarray, lam: float, mu: np.ndarray) -> np.ndarray:
    """Make the dual's choice feasible, then add pairs greedily by value per cost."""
    r = P.v - lam * P.c - mu[P.camp]
    chosen = np.zeros(len(P.v), dtype=bool)
    order = sel[np.argsort(-r[sel], kind="stable")]
    camp_count = np.zeros(len(P.cap), dtype=np.int64)
    hh_count = np.zeros(len(P.starts), dtype=np.int64)
    spent = 0.0
    # the dual's picks, best reduced value first (they are nearly always all feasible)
    for i in order:
        j, h = P.camp[i], P.seg[i]
        if camp_count[j] >= P.cap[j] or hh_count[h] >= P.k or spent + P.c[i] > P.budget:
            continue
        chosen[i] = True
        camp_count[j] += 1
        hh_count[h] += 1
        spent += P.c[i]
    # top up: remaining positive-value pairs of households with room, best value per cost first
    cand = np.flatnonzero(~chosen & (P.v > 0) & (hh_count[P.seg] < P.k) & (camp_count[P.camp] < P.cap[P.camp]))
    cand = cand[P.c[cand] <= P.budget - spent]
    for i in cand[np.argsort(-(P.v[cand] / P.c[cand]), kind="stable")]:
        if spent + P.c[i] > P.budget:
            continue
        j, h = P.camp[i], P.seg[i]
        if camp_count[j] >= P.cap[j] or hh_count[h] >= P.k:
            continue
        chosen[i] = True
        camp_count[j] += 1
        hh_count[h] += 1
        spent += P.c[i]
        if P.budget - spent < P.c.min() or (camp_count >= P.cap).all():
            break
    return np.flatnonzero(chosen)
