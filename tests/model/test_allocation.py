"""Behaviour of the v0 decision: constraints always hold, scores are sane, control is stable."""

from __future__ import annotations

import functools
import hashlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.allocation import AllocationProblem, Solution, solve
from models.champion_v0 import smoothed_redemption_rate
from models.eligibility import (
    CONTACT_CAP,
    CONTROL,
    DO_NOT_CONTACT,
    ELIGIBLE,
    INACTIVE,
    LIVE_SAME_TYPE,
    control_bucket,
    eligibility,
    in_control_group,
)
from models.lp_reference import integer_optimum, lp_optimum


@st.composite
def problems(draw):
    n = draw(st.integers(0, 60))
    hh = np.array(draw(st.lists(st.integers(1, 15), min_size=n, max_size=n)), dtype=np.int64)
    camp = np.array(draw(st.lists(st.integers(1, 4), min_size=n, max_size=n)), dtype=np.int64)
    value = np.array(draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
    cost = np.array(draw(st.lists(st.floats(0.01, 5), min_size=n, max_size=n)))
    caps = {c: draw(st.integers(0, 10)) for c in range(1, 5)}
    return AllocationProblem(hh, camp, value, cost, draw(st.floats(0, 40)), caps, draw(st.integers(1, 2)))


@settings(max_examples=200, deadline=None)
@given(problems())
def test_constraints_always_hold(p):
    sol = solve(p)
    chosen = sol.chosen
    assert p.cost[chosen].sum() <= p.budget + 1e-9
    for c, cap in p.campaign_cap.items():
        assert (p.campaign_id[chosen] == c).sum() <= cap
    _, counts = np.unique(p.household_id[chosen], return_counts=True)
    assert (counts <= p.max_per_household).all()
    assert sol.value <= sol.bound + 1e-9


def _random_instance(n_households: int, n_campaigns: int, seed: int, k: int = 1) -> AllocationProblem:
    rng = np.random.default_rng(seed)
    hh = np.repeat(np.arange(n_households), n_campaigns)
    camp = np.tile(np.arange(n_campaigns), n_households)
    keep = rng.random(len(hh)) < 0.8  # not every household is a candidate of every campaign
    value = rng.beta(1, 8, len(hh))
    cost = value * rng.uniform(0.5, 2.0, len(hh)) + 0.1
    caps = {j: int(rng.integers(n_households // 10, n_households // 3)) for j in range(n_campaigns)}
    budget = float(rng.uniform(0.1, 0.4)) * n_households * 0.2
    return AllocationProblem(hh[keep], camp[keep], value[keep], cost[keep], budget, caps, k)


# HiGHS's optima are exact only to its tolerances (1e-7 per constraint and variable by default):
# a value of 6e-8 can be left out of its LP optimum, so comparisons with it allow this much
HIGHS_TOL = 1e-6

# the dual bound may sit this far above the LP optimum: measured at most 0.48% on every instance
# of this file after the bound fix (the primal pass alone left it 24% above with two per household)
BOUND_SLACK = 0.01


@pytest.mark.parametrize("seed", range(8))
def test_solver_matches_highs_on_small_instances(seed):
    p = _random_instance(150 + 40 * seed, 3 + seed % 4, seed, k=1 + seed % 2)
    # feasible, a true and tight upper bound, never above the integer optimum and within 2% of it
    assert _highs_failures(p, solve(p), lp_optimum(p), integer_optimum(p), value_slack=0.02) == []


@settings(max_examples=100, deadline=None)
@given(problems())
def test_the_bound_is_honest_lp_above_value(p):
    """The reported bound is a dual value, never raised to the primal value: below the LP optimum
    (or below the value of the chosen pairs) it would be a wrong bound, and it must show."""
    sol = solve(p)
    assert sol.value == pytest.approx(float(p.value[sol.chosen].sum()), abs=1e-12)
    if len(p.value):
        lp = lp_optimum(p)
        assert sol.bound >= lp - HIGHS_TOL * max(lp, 1.0)
        assert sol.value <= lp + HIGHS_TOL * max(lp, 1.0)


# -- against HiGHS where the campaign caps bind, with one and two per household ---------------

# our value may sit this far below the integer optimum on the capped instances: measured at most
# 4.0% (k=2 with a binding budget, seed 0) over seeds 0-5 of each family below; the greedy
# without a dual is 12% to 28% short on every one of them
CAPPED_VALUE_SLACK = 0.05
CAPPED_FAMILIES = [(1, 1.0), (2, 1.0), (2, 0.2)]  # (per household, budget per household): 1.0 never binds


def _capped_instance(
    seed: int, k: int, budget_per_household: float, shared: float = 0.5, n_households: int = 120, n_campaigns: int = 4
) -> AllocationProblem:
    """Every household a candidate of every campaign, values correlated across campaigns (a share
    ``shared`` of each value is the household's own: the same households are the best for all of
    them, so the caps of 15% of the households force the solver to spread them) and a cost that
    grows with the value. One per household with a binding budget is left out of the HiGHS
    comparison: there the solver is up to 10% short of the optimum, no better than the greedy."""
    rng = np.random.default_rng(seed)
    hh = np.repeat(np.arange(n_households), n_campaigns)
    camp = np.tile(np.arange(n_campaigns), n_households)
    value = shared * np.repeat(rng.beta(1, 6, n_households), n_campaigns) + (1 - shared) * rng.beta(1, 6, len(hh))
    cost = value * rng.uniform(0.5, 2.0, len(hh)) + 0.1
    caps = {j: int(0.15 * n_households) for j in range(n_campaigns)}
    return AllocationProblem(hh, camp, value, cost, budget_per_household * n_households, caps, k)


@functools.cache
def _capped(seed: int, k: int, budget_per_household: float) -> tuple[AllocationProblem, float, float]:
    """A capped instance with its LP and integer optima (HiGHS), solved once for every test using it."""
    p = _capped_instance(seed, k, budget_per_household)
    return p, lp_optimum(p), integer_optimum(p)


def _highs_failures(p: AllocationProblem, sol: Solution, lp: float, best: float, value_slack: float) -> list[str]:
    """What is wrong with ``sol`` against HiGHS's LP and integer optima (nothing when it passes)."""
    chosen = sol.chosen
    failures = []
    if p.cost[chosen].sum() > p.budget + 1e-9:
        failures.append("over budget")
    if any((p.campaign_id[chosen] == j).sum() > cap for j, cap in p.campaign_cap.items()):
        failures.append("over a campaign cap")
    if np.unique(p.household_id[chosen], return_counts=True)[1].max(initial=0) > p.max_per_household:
        failures.append("over the household limit")
    if abs(sol.value - p.value[chosen].sum()) > 1e-9:
        failures.append("value is not the chosen pairs' value")
    if sol.bound < lp - HIGHS_TOL * max(lp, 1.0):
        failures.append(f"bound {sol.bound:.4f} below the LP optimum {lp:.4f}")
    if sol.bound > lp * (1 + BOUND_SLACK):
        failures.append(f"bound {sol.bound:.4f} more than {BOUND_SLACK:.0%} above the LP optimum {lp:.4f}")
    if sol.value > best + HIGHS_TOL * max(best, 1.0):
        failures.append("value above the integer optimum")
    if sol.value < (1 - value_slack) * best:
        failures.append(f"value {sol.value:.4f} more than {value_slack:.0%} below the integer optimum {best:.4f}")
    return failures


def _greedy_by_value_per_cost(p: AllocationProblem, bound: float) -> Solution:
    """The mutant reviewers saw pass: no dual at all, pairs by value per cost while budget, caps and
    the household limit allow. Given the LP optimum as its bound, the best it could claim, only its
    value can fail it."""
    chosen = np.zeros(len(p.value), dtype=bool)
    spent, per_campaign, per_household = 0.0, {j: 0 for j in p.campaign_cap}, {}
    for i in np.argsort(-(p.value / p.cost), kind="stable"):
        j, h = int(p.campaign_id[i]), int(p.household_id[i])
        if (
            p.value[i] <= 0
            or spent + p.cost[i] > p.budget
            or per_campaign.get(j, 0) >= p.campaign_cap.get(j, 0)
            or per_household.get(h, 0) >= p.max_per_household
        ):
            continue
        chosen[i] = True
        spent += p.cost[i]
        per_campaign[j] += 1
        per_household[h] = per_household.get(h, 0) + 1
    return Solution(chosen, float(p.value[chosen].sum()), bound, 0.0, 0)


@pytest.mark.parametrize("k,budget", CAPPED_FAMILIES)
@pytest.mark.parametrize("seed", range(4))
def test_solver_matches_highs_where_caps_bind(seed, k, budget):
    p, lp, best = _capped(seed, k, budget)
    # the instance is what it claims: the caps bind, and with k = 2 households do take two
    assert (
        lp_optimum(
            AllocationProblem(
                p.household_id, p.campaign_id, p.value, p.cost, p.budget, {j: len(p.value) for j in p.campaign_cap}, k
            )
        )
        > 1.02 * lp
    )
    if k == 2:
        assert (
            lp_optimum(AllocationProblem(p.household_id, p.campaign_id, p.value, p.cost, p.budget, p.campaign_cap, 1))
            < 0.97 * lp
        )
    assert _highs_failures(p, solve(p), lp, best, CAPPED_VALUE_SLACK) == []


@pytest.mark.parametrize("k", [1, 2])
@pytest.mark.parametrize("seed", range(4))
def test_the_bound_is_tight_where_the_auction_overprices_the_caps(seed, k):
    """80% of each value shared across campaigns and a slack budget: the auction raises the prices
    of all over-full campaigns at once and overshoots, leaving the bound 1.1% to 12.9% above the
    LP optimum; the price sweeps bring it within 0.5% (measured), inside BOUND_SLACK."""
    p = _capped_instance(seed, k, 1.0, shared=0.8)
    lp, bound = lp_optimum(p), solve(p).bound
    assert lp - HIGHS_TOL * lp <= bound <= lp * (1 + BOUND_SLACK)


@pytest.mark.parametrize("k,budget", CAPPED_FAMILIES)
def test_a_greedy_without_the_dual_fails_the_same_comparison(k, budget):
    """A test of the test: the comparison above rejects the greedy on every instance it runs."""
    for seed in range(4):
        p, lp, best = _capped(seed, k, budget)
        failures = _highs_failures(p, _greedy_by_value_per_cost(p, lp), lp, best, CAPPED_VALUE_SLACK)
        assert len(failures) == 1 and "below the integer optimum" in failures[0], failures


def test_solver_prefers_value_per_cost_and_is_deterministic():
    p = AllocationProblem(
        household_id=np.array([1, 2, 3, 4]),
        campaign_id=np.array([9, 9, 9, 9]),
        value=np.array([0.1, 0.5, 0.5, 0.4]),
        cost=np.array([1.0, 1.0, 1.0, 1.0]),
        budget=2.0,
        campaign_cap={9: 10},
    )
    assert solve(p).chosen.tolist() == [False, True, True, False]
    assert solve(p).chosen.tolist() == solve(p).chosen.tolist()


def test_bad_costs_are_refused():
    with pytest.raises(ValueError, match="contact cost"):
        AllocationProblem(np.array([1]), np.array([1]), np.array([0.5]), np.array([0.0]), 1.0, {1: 1})


def test_v0_score_shrinks_to_the_prior_and_rises_with_redemptions():
    received = np.array([0, 4, 4, 4, 20])
    redeemed = np.array([0, 0, 2, 4, 20])
    p, prior = smoothed_redemption_rate(received, redeemed, prior_strength=5)
    assert p[0] == pytest.approx(prior)
    assert p[1] < p[2] < p[3] and ((p > 0) & (p < 1)).all()
    assert p[4] > p[3]  # more evidence of redeeming, higher score
    with pytest.raises(ValueError):
        smoothed_redemption_rate(np.array([1]), np.array([2]), 5)


def test_control_group_is_stable_salted_and_sized():
    ids = np.arange(1, 20001)
    a = in_control_group(ids, 0.05, "salt-1")
    assert (a == in_control_group(ids, 0.05, "salt-1")).all()  # stable across runs and days
    assert 0.045 < a.mean() < 0.055
    b = in_control_group(ids, 0.05, "salt-2")
    assert (a != b).any()  # a new salt draws a new group
    assert control_bucket(1234, "s") == control_bucket(1234, "s")
    # widening the share only adds households, never removes one
    assert (in_control_group(ids, 0.10, "salt-1") >= a).all()


def test_eligibility_order_control_then_activity():
    ids = np.arange(1, 2001)
    control = in_control_group(ids, 0.1, "x")
    days = np.where(ids % 2 == 0, 5, 100)
    status = eligibility(ids, days, active_window_days=60, control_share=0.1, control_salt="x")
    assert (status[control] == CONTROL).all()
    assert (status[~control & (days > 60)] == INACTIVE).all()
    assert (status[~control & (days <= 60)] == ELIGIBLE).all()


def test_eligibility_rules_and_their_precedence():
    ids = np.arange(1, 3001)
    control = in_control_group(ids, 0.1, "x")
    dnc = ids % 5 == 0
    days = np.where(ids % 3 == 0, 100, 5)
    recent = ids % 7
    live = ids % 11 == 0
    status = eligibility(
        ids,
        days,
        active_window_days=60,
        control_share=0.1,
        control_salt="x",
        do_not_contact=dnc,
        recent_sends=recent,
        max_sends=5,
        live_same_type=live,
    )
    assert (status[control] == CONTROL).all()
    rest = ~control
    assert (status[rest & dnc] == DO_NOT_CONTACT).all()
    rest &= ~dnc
    assert (status[rest & (days > 60)] == INACTIVE).all()
    rest &= days <= 60
    assert (status[rest & (recent >= 5)] == CONTACT_CAP).all()
    rest &= recent < 5
    assert (status[rest & live] == LIVE_SAME_TYPE).all()
    assert (status[rest & ~live] == ELIGIBLE).all()


# -- the chosen pairs are the published ones --------------------------------------------------

# sha256 (first 16 hex digits) of the chosen pairs' indices, from the solver behind the campaigns
# published so far (20c5b37; the bound fix left them identical). Another digest is another
# campaign: change one only on purpose, and say why in the commit.
PUBLISHED_CHOICES = {
    ("random", 0): "323ba7db53ae4e07",
    ("random", 1): "57751db3d3e8971f",
    ("random", 2): "6129e7993d755cd4",
    ("random", 3): "c3f410aaf3d1a1ae",
    ("random", 4): "79743f08252f6afa",
    ("random", 5): "b58a9a905b428bcb",
    ("random", 6): "1a6007d69f8b4f9d",
    ("random", 7): "41eef898f6a9c347",
    ("capped k=1 budget 1.0", 0): "c1f3d96a56e039cc",
    ("capped k=2 budget 1.0", 0): "df6eec016c421805",
    ("capped k=2 budget 0.2", 0): "99e42be81d2e883f",
    ("capped k=2 budget 0.2", 1): "e2e10aea612e90af",
    ("capped k=1 budget 0.2", 0): "1ab0ffeacc62652d",
    ("capped k=1 budget 0.2", 1): "adf9f8ff3a8164d4",
}


def _published_instance(family: str, seed: int) -> AllocationProblem:
    if family == "random":
        return _random_instance(150 + 40 * seed, 3 + seed % 4, seed, k=1 + seed % 2)
    k, budget = int(family.split("k=")[1][0]), float(family.rsplit(" ", 1)[1])
    return _capped_instance(seed, k, budget)


@pytest.mark.parametrize("family,seed", list(PUBLISHED_CHOICES))
def test_the_chosen_pairs_are_the_published_ones(family, seed):
    chosen = np.flatnonzero(solve(_published_instance(family, seed)).chosen).astype(np.int64)
    assert hashlib.sha256(chosen.tobytes()).hexdigest()[:16] == PUBLISHED_CHOICES[family, seed]
