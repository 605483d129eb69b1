"""Budget-constrained assignment of campaigns to households: a Lagrangian-dual solver.

    maximise   sum v[i] x[i]                      over candidate pairs i = (household, campaign)
    subject to sum c[i] x[i] <= budget            (money)
               sum_{i in campaign j} x[i] <= cap[j]   (head-count per campaign)
               sum_{i of household h} x[i] <= k       (new campaigns per household per day)
               x[i] in {0, 1}

Dualising the budget (lambda) and the campaign caps (mu[j]) leaves, for each household, the
easy problem "take your k pairs of largest positive reduced value v - lambda c - mu[j]". The
solver bisects lambda on the budget, and for each lambda raises mu[j] of over-full campaigns
until none is over its cap (an auction). Every (lambda, mu >= 0) gives an upper bound on the LP
optimum (weak duality), so the reported gap is honest without an LP solver. The primal is the
dual's choice at a feasible lambda, repaired to satisfy every constraint, then topped up
greedily (value per cost) with what budget and caps leave. Everything is numpy over arrays of
pairs: millions of pairs fit on two cores.

The bound reported is the best dual value seen, never raised to the primal value: a bound below
the value of a feasible choice would be a bug, and hiding it would hide the bug. The primal's
bisection warm-starts each auction from prices that can only rise, so when its gap is large its
dual values can sit far above the LP optimum (46% on small instances where budget and caps both
bind); a second, dual-only pass then tightens the bound (see ``_tightened_bound``) without
touching the chosen pairs.
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
    chosen: np.ndarray  # boolean mask over the pairs
    value: float  # objective of the chosen pairs
    bound: float  # an upper bound on the LP optimum (so on any feasible choice), never raised to value
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

    def dual_value(self, lam: float, mu: np.ndarray) -> float:
        """The Lagrangian dual at (lam, mu): an upper bound on the LP optimum for any lam, mu >= 0."""
        sel, r = self.pick(lam, mu)
        return self.dual_bound(lam, mu, sel, r)

    def outside_option(self, r: np.ndarray) -> np.ndarray:
        """For each pair, what its household gets from its k-th best other pair (positive part): the
        pair adds ``max(0, r - outside)`` to the household's share of the dual."""
        order = np.lexsort((-r, self.seg))
        rank = np.empty(len(r), dtype=np.int64)
        rank[order] = np.arange(len(r)) - self.starts[self.seg[order]]
        size = np.diff(np.r_[self.starts, len(r)])

        def kth_best(q: int) -> np.ndarray:  # each household's (q+1)-th best reduced value, -inf if it has none
            out = np.full(len(self.starts), -np.inf)
            has = size > q
            out[has] = r[order][self.starts[has] + q]
            return out

        nth = np.where(rank < self.k, kth_best(self.k)[self.seg], kth_best(self.k - 1)[self.seg])
        return np.maximum(nth, 0.0)

    def lowered_prices(self, lam: float, mu: np.ndarray) -> np.ndarray:
        """One sweep of exact coordinate steps on the dual: each campaign's mu in turn becomes the
        minimiser with every other price fixed, the (cap+1)-th largest margin of its pairs over
        their households' outside options (0 if it has no more than cap pairs). The auction only
        raises prices, and raising them all at once overshoots; this brings them back down."""
        mu = mu.copy()
        base = self.v - lam * self.c
        for j in range(len(self.cap)):
            margin = np.sort((base - self.outside_option(base - mu[self.camp]))[self.camp == j])[::-1]
            mu[j] = max(0.0, float(margin[self.cap[j]])) if self.cap[j] < len(margin) else 0.0
        return mu

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
    if best_bound - value > GAP_WORTH_TIGHTENING * abs(best_bound):
        best_bound = min(best_bound, _tightened_bound(P, tol, max_bisections))
    return Solution(chosen, value, best_bound, lam, iterations)


GAP_WORTH_TIGHTENING = 1e-4  # relative gap under which the primal pass's bound is reported as it is
PRICE_SWEEPS = 4  # coordinate sweeps over the campaign prices at the best lambda


def _tightened_bound(P: _Pairs, tol: float, max_bisections: int) -> float:
    """A dual-only pass for the bound: lambda bisected again, each auction warm-started from the
    prices of a larger lambda (fewer households want each campaign there, so those prices are
    not above what this lambda needs, and spend falls as lambda rises), then the prices at the
    best lambda lowered by exact coordinate steps. Any (lambda, mu >= 0) bounds the LP optimum,
    so this can only make the bound tighter, never wrong; the chosen pairs do not depend on it."""
    zero = np.zeros(len(P.cap))
    mu, sel, r = P.fit_caps(0.0, zero)
    best, best_lam, best_mu = P.dual_bound(0.0, mu, sel, r), 0.0, mu
    if P.c[sel].sum() > P.budget:
        lo, hi, mu_hi = 0.0, float(np.max(P.v / P.c)) + 1.0, zero
        for _ in range(max_bisections):
            mid = (lo + hi) / 2
            mu, sel, r = P.fit_caps(mid, mu_hi)
            bound = P.dual_bound(mid, mu, sel, r)
            if bound < best:
                best, best_lam, best_mu = bound, mid, mu
            if P.c[sel].sum() <= P.budget:
                hi, mu_hi = mid, mu
            else:
                lo = mid
            if hi - lo < tol * hi:
                break
    for _ in range(PRICE_SWEEPS):
        best_mu = P.lowered_prices(best_lam, best_mu)
        best = min(best, P.dual_value(best_lam, best_mu))
    return best


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
