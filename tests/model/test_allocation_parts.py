"""The solver's parts, each against an independent statement of what it must do.

test_allocation.py checks whole solutions against HiGHS; on its instances the dual's pick is
nearly always feasible already and the bound's slack hides small errors, so a broken repair, a
wrong outside option or a bisection that stops too early could pass there. Here every part is
given inputs where it has to work: a dual pick that breaks every constraint at once, exact ties
(values and costs are binary fractions, so sums and comparisons are exact), budgets that are
used to the last cent, prices that must come out as the exact coordinate minimum, and bounds
compared with the LP optimum to 1e-6 where nothing else can hide them.
"""

from __future__ import annotations

import numpy as np
import pytest

from models.allocation import AllocationProblem, _Pairs, _repair_and_fill, _tightened_bound, solve
from models.lp_reference import lp_optimum

# -- independent statements of the parts --------------------------------------------------------


def _reference_repair_and_fill(P: _Pairs, sel: np.ndarray, lam: float, mu: np.ndarray) -> list[int]:
    """The repair as the docstring states it, one pair at a time: the dual's picks by reduced value
    (ties: the order of ``sel``), each kept only if its campaign, its household and the budget
    have room; then every other pair worth something, by value per cost (ties: lower index
    first), while the same three allow. Plain Python, no numpy sorting."""
    r = [float(P.v[i] - lam * P.c[i] - mu[P.camp[i]]) for i in range(len(P.v))]
    camp_count: dict[int, int] = {}
    hh_count: dict[int, int] = {}
    chosen: set[int] = set()
    spent = 0.0

    def take(i: int) -> None:
        nonlocal spent
        j, h = int(P.camp[i]), int(P.seg[i])
        if camp_count.get(j, 0) < P.cap[j] and hh_count.get(h, 0) < P.k and spent + P.c[i] <= P.budget:
            chosen.add(i)
            camp_count[j] = camp_count.get(j, 0) + 1
            hh_count[h] = hh_count.get(h, 0) + 1
            spent += float(P.c[i])

    picks = [int(i) for i in sel]
    for _, pos in sorted((-r[i], pos) for pos, i in enumerate(picks)):
        take(picks[pos])
    for _, i in sorted((-(P.v[i] / P.c[i]), i) for i in range(len(P.v)) if i not in chosen and P.v[i] > 0):
        take(int(i))
    return sorted(chosen)


def _reference_outside_option(P: _Pairs, r: np.ndarray) -> np.ndarray:
    """For each pair: the k-th best reduced value among its household's *other* pairs (0 if it has
    fewer than k others, and never below 0)."""
    out = np.zeros(len(r))
    for i in range(len(r)):
        others = sorted((r[o] for o in range(len(r)) if P.seg[o] == P.seg[i] and o != i), reverse=True)
        out[i] = max(0.0, others[P.k - 1]) if len(others) >= P.k else 0.0
    return out


def _exact_instance(rng: np.random.Generator, n_households: int, n_campaigns: int, k: int) -> AllocationProblem:
    """Values in eighths and costs in quarters: every reduced value, ratio and running sum below is
    exact in binary, so ties and budgets spent to the last cent really happen."""
    hh = np.repeat(np.arange(n_households), n_campaigns)
    camp = np.tile(np.arange(n_campaigns), n_households)
    keep = rng.random(len(hh)) < 0.7
    value = rng.integers(0, 9, len(hh)) / 8
    cost = rng.choice([0.25, 0.5, 1.0], len(hh))
    caps = {j: int(rng.integers(1, n_households // 2 + 2)) for j in range(n_campaigns)}
    budget = float(rng.integers(1, 4 * n_households)) / 4
    return AllocationProblem(hh[keep], camp[keep], value[keep], cost[keep], budget, caps, k)


# -- the repair and the top-up -----------------------------------------------------------------


def test_the_repair_keeps_the_best_of_an_infeasible_pick_and_tops_up_by_value_per_cost():
    """A worked example: every constraint is broken by the pick, and each is repaired."""
    p = AllocationProblem(
        household_id=np.array([1, 1, 2, 3, 4, 5, 6]),
        campaign_id=np.array([7, 8, 7, 7, 8, 8, 8]),
        value=np.array([0.875, 0.75, 0.625, 0.5, 0.25, 0.0, 0.5]),
        cost=np.array([1.0, 0.5, 0.5, 0.25, 0.5, 0.25, 1.0]),
        budget=2.0,
        campaign_cap={7: 2, 8: 2},
    )
    P = _Pairs(p)  # already in (household, campaign) order: index i is row i
    lam, mu = 0.25, np.array([0.125, 0.0])
    # reduced values: 0.5, 0.625, 0.375, 0.3125, 0.125, -0.0625, 0.25; the pick takes all of 0..4
    chosen = _repair_and_fill(P, np.array([0, 1, 2, 3, 4]), lam, mu)
    # 1 (0.625, household 1's first), 0 skipped (household 1 is full), 2 and 3 fill campaign 7,
    # 4 (0.5 spent so far 1.25 -> 1.75); top-up: 6 (0.5 per 1.0) no longer fits the 0.25 left,
    # 5 is worth nothing
    assert chosen.tolist() == [1, 2, 3, 4]
    assert chosen.tolist() == _reference_repair_and_fill(P, np.array([0, 1, 2, 3, 4]), lam, mu)


@pytest.mark.parametrize("k", [1, 2])
def test_the_repair_matches_its_statement_on_picks_that_break_every_constraint(k):
    """300 instances with exact ties, budgets spent to the last cent and a pick of a random half of
    all pairs (several per household, caps and budget exceeded) at random prices."""
    rng = np.random.default_rng(11 + k)
    for _ in range(300):
        p = _exact_instance(rng, int(rng.integers(8, 30)), int(rng.integers(1, 4)), k)
        if not len(p.value):
            continue
        P = _Pairs(p)
        sel = np.flatnonzero(rng.random(len(P.v)) < 0.5)
        lam = float(rng.choice([0.0, 0.25, 0.5]))
        mu = rng.choice([0.0, 0.125, 0.25], len(P.cap))
        got = _repair_and_fill(P, sel, lam, mu).tolist()
        assert got == _reference_repair_and_fill(P, sel, lam, mu), (p, sel, lam, mu)


def test_a_budget_is_spent_to_the_last_cent():
    """Costs that add up to the budget exactly: the last pair still fits (``<=``, not ``<``), in
    the repair and in the top-up."""
    p = AllocationProblem(
        np.array([1, 2, 3, 4]), np.array([5, 5, 5, 5]), np.array([0.5, 0.5, 0.25, 0.125]),
        np.array([0.5, 0.25, 0.25, 0.5]), 1.0, {5: 4},
    )  # fmt: skip
    P = _Pairs(p)
    assert _repair_and_fill(P, np.array([0, 1]), 0.0, np.zeros(1)).tolist() == [0, 1, 2]  # 0.5 + 0.25 + 0.25
    assert _repair_and_fill(P, np.array([0, 1, 2]), 0.0, np.zeros(1)).tolist() == [0, 1, 2]
    # the top-up alone: the cheapest cost left equals the money left, and it is still taken
    assert _repair_and_fill(P, np.zeros(0, np.int64), 0.0, np.zeros(1)).tolist() == [0, 1, 2]


def test_a_pair_worth_nothing_is_never_sent_even_with_money_to_spare():
    p = AllocationProblem(
        np.array([1, 2, 3]), np.array([5, 5, 5]), np.array([0.5, 0.0, 0.25]), np.array([0.25, 0.25, 0.25]),
        10.0, {5: 3},
    )  # fmt: skip
    assert solve(p).chosen.tolist() == [True, False, True]
    P = _Pairs(p)
    assert 1 not in P.pick(0.0, np.zeros(1))[0]  # a reduced value of exactly 0 is not picked
    assert 1 not in _repair_and_fill(P, np.zeros(0, np.int64), 0.0, np.zeros(1))
    two = AllocationProblem(p.household_id, p.campaign_id, p.value, p.cost, p.budget, p.campaign_cap, 2)
    assert 1 not in _Pairs(two).pick(0.0, np.zeros(1))[0]  # nor with two per household


# -- the dual's pieces -------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2])
def test_outside_options_are_the_kth_best_other_pair(k):
    rng = np.random.default_rng(5)
    for _ in range(50):
        p = _exact_instance(rng, int(rng.integers(3, 12)), int(rng.integers(1, 5)), k)
        if not len(p.value):
            continue
        P = _Pairs(p)
        r = P.v - rng.choice([0.0, 0.25, 0.5]) * P.c - rng.choice([0.0, 0.125], len(P.cap))[P.camp]
        np.testing.assert_array_equal(P.outside_option(r), _reference_outside_option(P, r))


def test_outside_options_worked_example():
    # household 1: reduced values 3, 1, 2; household 2: one pair of -1; household 3: 0.5, 4
    p = AllocationProblem(
        np.array([1, 1, 1, 2, 3, 3]), np.array([1, 2, 3, 1, 1, 2]), np.zeros(6), np.ones(6), 1.0, {1: 1, 2: 1, 3: 1}, 1
    )
    P = _Pairs(p)
    r = np.array([3.0, 1.0, 2.0, -1.0, 0.5, 4.0])
    assert P.outside_option(r).tolist() == [2.0, 3.0, 3.0, 0.0, 4.0, 0.5]
    P.k = 2
    assert P.outside_option(r).tolist() == [1.0, 2.0, 1.0, 0.0, 0.0, 0.0]


def _dual_along(P: _Pairs, lam: float, mu: np.ndarray, j: int, grid: np.ndarray) -> np.ndarray:
    out = []
    for t in grid:
        m = mu.copy()
        m[j] = t
        out.append(P.dual_value(lam, m))
    return np.array(out)


@pytest.mark.parametrize("seed", range(6))
def test_lowered_prices_are_exact_coordinate_minima(seed):
    """Each campaign's new price minimises the dual with the other prices fixed (the ones before it
    in the sweep already lowered); a campaign with room for all its pairs costs nothing."""
    rng = np.random.default_rng(seed)
    n = 40
    hh = np.repeat(np.arange(n), 3)
    camp = np.tile(np.arange(3), n)
    value = 0.5 * np.repeat(rng.beta(1, 4, n), 3) + 0.5 * rng.beta(1, 4, 3 * n)
    cost = value * rng.uniform(0.5, 2.0, 3 * n) + 0.1
    p = AllocationProblem(hh, camp, value, cost, 3.0, {0: 4, 1: 9, 2: 3 * n}, 1 + seed % 2)
    P = _Pairs(p)
    lam = 0.3
    start = rng.uniform(0, 0.5, 3)
    lowered = P.lowered_prices(lam, start)
    grid = np.linspace(0.0, 1.0, 401)
    current = start.copy()
    for j in range(3):
        current[j] = lowered[j]
        along = _dual_along(P, lam, current, j, grid)
        assert P.dual_value(lam, current) <= along.min() + 1e-12, (j, lowered[j], grid[along.argmin()])
    assert lowered[2] == 0.0


def test_an_auction_out_of_rounds_returns_the_choice_at_its_last_prices():
    rng = np.random.default_rng(0)
    p = _exact_instance(rng, 20, 2, 1)
    P = _Pairs(p)
    mu = np.array([0.125, 0.0])
    got_mu, sel, r = P.fit_caps(0.25, mu, rounds=0)
    want_sel, want_r = P.pick(0.25, mu)
    assert got_mu.tolist() == mu.tolist() and sel.tolist() == want_sel.tolist()
    np.testing.assert_array_equal(r, want_r)
    fitted, sel, _ = P.fit_caps(0.25, mu)  # with rounds, no campaign is over its cap
    assert (np.bincount(P.camp[sel], minlength=2) <= P.cap).all() and (fitted >= mu).all()


# -- the bound where only the budget binds: the Lagrangian dual of one constraint is exact --------


def _budget_only(seed: int, kind: str) -> AllocationProblem:
    """Caps that never bind, one per household: min over lambda of the dual is the LP optimum.
    ``cheap``: costs far below values, so the price of money is far above max(v * c) + 1;
    ``tiny``: values far below costs, so it is far below 1 (a bisection that stops on an absolute
    width instead of a relative one stops early there)."""
    rng = np.random.default_rng(seed)
    n = 300
    hh = np.repeat(np.arange(n), 3)
    camp = np.tile(np.arange(3), n)
    if kind == "cheap":
        value = rng.uniform(1.0, 3.0, 3 * n)
        cost = rng.uniform(0.01, 0.1, 3 * n)
        budget = 0.02 * cost.sum()
    else:
        value = rng.beta(1, 8, 3 * n) * (0.01 if kind == "tiny" else 1.0)
        cost = value * rng.uniform(0.5, 2.0, 3 * n) + 0.1
        budget = 0.3 * n * 0.2
    return AllocationProblem(hh, camp, value, cost, float(budget), {j: 3 * n for j in range(3)}, 1)


@pytest.mark.parametrize("kind", ["plain", "cheap", "tiny"])
@pytest.mark.parametrize("seed", range(3))
def test_the_tightened_bound_is_the_lp_optimum_where_only_the_budget_binds(seed, kind):
    p = _budget_only(seed, kind)
    lp = lp_optimum(p)
    bound = _tightened_bound(_Pairs(p), 1e-5, 60)
    assert lp * (1 - 1e-7) <= bound <= lp * (1 + 2e-6), (bound, lp)
    sol = solve(p)
    assert lp * (1 - 1e-7) <= sol.bound <= lp * (1 + 2e-6)
    assert sol.value >= lp * (1 - 0.01)


# -- what a Solution reports -------------------------------------------------------------------


def test_an_empty_problem_has_an_empty_solution():
    empty = np.zeros(0)
    sol = solve(AllocationProblem(empty.astype(np.int64), empty.astype(np.int64), empty, empty, 5.0, {}))
    assert sol.chosen.dtype == bool and sol.chosen.shape == (0,)
    assert (sol.value, sol.bound, sol.budget_multiplier, sol.iterations, sol.gap) == (0.0, 0.0, 0.0, 0, 0.0)


def test_the_budget_multiplier_is_the_price_of_money_and_iterations_count_the_auctions():
    """With money to spare the price of money is 0 after one auction; with a binding budget it is
    the lowest price found at which the dual's pick fits the budget (just below it, it does not),
    and every bisection step is one more auction."""
    rng = np.random.default_rng(3)
    n = 200
    hh = np.repeat(np.arange(n), 2)
    camp = np.tile(np.arange(2), n)
    value = rng.beta(1, 8, 2 * n) * 0.02  # the price of money comes out near 0.02: far below 1
    cost = value * rng.uniform(0.5, 2.0, 2 * n) + 0.1
    slack = solve(AllocationProblem(hh, camp, value, cost, 1e6, {0: n, 1: n}))
    assert (slack.budget_multiplier, slack.iterations) == (0.0, 1)

    p = AllocationProblem(hh, camp, value, cost, 4.0, {0: n, 1: n})
    P = _Pairs(p)
    sol = solve(p)
    lam = sol.budget_multiplier
    assert 0 < lam < 0.1
    assert P.c[P.fit_caps(lam, np.zeros(2))[1]].sum() <= p.budget
    # found to tol (1e-5) relative to itself: a little lower, the pick is over the budget
    assert P.c[P.fit_caps(lam * (1 - 1e-5), np.zeros(2))[1]].sum() > p.budget
    # the bisection stops once the bracket is within tol: far fewer than its 60 steps
    assert 5 <= sol.iterations <= 25


def test_the_bisection_stops_at_the_first_price_that_spends_the_budget_to_the_cent():
    """Values in eighths, costs of a quarter: at lambda = 1.125 (the third step: 1.5, 0.75, 1.125)
    the pick is the two best pairs and costs exactly the budget; the search ends there, and a
    budget that the whole pick at lambda = 0 spends exactly needs no search at all."""
    value, cost = np.array([0.5, 0.375, 0.25, 0.125]), np.full(4, 0.25)
    hh, camp = np.arange(4), np.zeros(4, np.int64)
    sol = solve(AllocationProblem(hh, camp, value, cost, 0.5, {0: 4}))
    assert (sol.chosen.tolist(), sol.budget_multiplier, sol.iterations) == ([True, True, False, False], 1.125, 4)
    sol = solve(AllocationProblem(hh, camp, value, cost, 1.0, {0: 4}))
    assert (sol.chosen.all(), sol.budget_multiplier, sol.iterations) == (True, 0.0, 1)


def test_with_no_bisection_the_choice_is_the_top_up_alone():
    """max_bisections=0: no feasible price was found, so nothing of the dual is kept and the
    choice is the value-per-cost top-up within the budget."""
    value, cost = np.array([0.25, 0.5, 0.375]), np.full(3, 0.25)
    p = AllocationProblem(np.array([1, 2, 3]), np.array([5, 5, 5]), value, cost, 0.5, {5: 3})
    sol = solve(p, max_bisections=0)
    assert sol.chosen.tolist() == [False, True, True]


def test_bad_problems_are_refused_with_their_reason():
    one = np.array([1])
    with pytest.raises(ValueError, match=r"^campaign_id has 2 rows, household_id has 1$"):
        AllocationProblem(one, np.array([1, 2]), np.array([0.5]), np.array([1.0]), 1.0, {1: 1})
    with pytest.raises(ValueError, match=r"^every expected cost must be finite and > 0 \(add a contact cost\)$"):
        AllocationProblem(one, one, np.array([0.5]), np.array([np.inf]), 1.0, {1: 1})
    with pytest.raises(ValueError, match=r"^every value must be finite \(a NaN score reached the allocation\)$"):
        AllocationProblem(one, one, np.array([np.nan]), np.array([1.0]), 1.0, {1: 1})
    with pytest.raises(ValueError, match=r"^budget must be >= 0$"):
        AllocationProblem(one, one, np.array([0.5]), np.array([1.0]), -1.0, {1: 1})
