"""The logging policy: constraints hold with exploration, propensities are exact, re-runs repeat."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from models.policy import EXPLOIT, EXPLORE, HOLDOUT, PolicyConfig, decide_arms, seed_for


def _instance(n_households=400, n_campaigns=3, seed=0):
    rng = np.random.default_rng(seed)
    hh = np.repeat(np.arange(n_households), n_campaigns)
    camp = np.tile(np.arange(n_campaigns), n_households)
    score = rng.beta(1, 6, len(hh))
    cost = score * 1.3 + 0.1
    caps = {j: 60 + 20 * j for j in range(n_campaigns)}
    return hh, camp, score, cost, caps


def test_propensities_are_exact():
    hh, camp, score, cost, caps = _instance()
    config = PolicyConfig(explore_share=0.2, holdout_share=0.25)
    runs = 2000
    sent = np.zeros(len(hh))
    selected = np.zeros(len(hh))
    first = None
    for seed in range(runs):
        d = decide_arms(hh, camp, score, cost, 60.0, caps, config, np.random.default_rng(seed))
        first = first or d
        assert np.allclose(d.propensity, first.propensity)  # the logged propensity is fixed by the inputs
        sent += d.sent
        selected += np.isin(d.arm, (EXPLOIT, EXPLORE, HOLDOUT))
    freq_sent, freq_selected = sent / runs, selected / runs
    explore_rows = (first.p_selected > 0) & (first.p_selected < 1)
    assert explore_rows.sum() > 100
    # binomial standard error at 2000 runs is at most 0.011: allow 5 of them
    assert np.abs(freq_selected - first.p_selected).max() < 0.056
    assert np.abs(freq_sent - first.propensity).max() < 0.056
    assert np.abs(freq_sent[explore_rows] - first.propensity[explore_rows]).mean() < 0.01
    # pairs never selectable are never sent
    assert (sent[first.p_selected == 0] == 0).all()


@st.composite
def instances(draw):
    n_h, n_c = draw(st.integers(5, 60)), draw(st.integers(1, 4))
    hh, camp, score, cost, _ = _instance(n_h, n_c, draw(st.integers(0, 10_000)))
    caps = {j: draw(st.integers(0, n_h)) for j in range(n_c)}
    return hh, camp, score, cost, caps, draw(st.floats(0, 30)), draw(st.floats(0, 0.9)), draw(st.floats(0, 0.9)), draw(st.integers(1, 2))


@settings(max_examples=150, deadline=None)
@given(instances(), st.integers(0, 2**32))
def test_budget_caps_and_household_limit_hold_with_exploration(inst, seed):
    hh, camp, score, cost, caps, budget, explore, holdout, k = inst
    d = decide_arms(hh, camp, score, cost, budget, caps, PolicyConfig(explore, holdout, k), np.random.default_rng(seed))
    selected = np.isin(d.arm, (EXPLOIT, EXPLORE, HOLDOUT))
    assert cost[selected].sum() <= budget + 1e-9
    for j, cap in caps.items():
        assert (selected & (camp == j)).sum() <= cap
    _, per_household = np.unique(hh[selected], return_counts=True)
    assert (per_household <= k).all()
    assert ((d.propensity > 0) | ~d.sent).all() and (d.propensity <= 1).all()


def test_same_date_same_draws():
    hh, camp, score, cost, caps = _instance()
    cfg = PolicyConfig()
    a = decide_arms(hh, camp, score, cost, 60.0, caps, cfg, np.random.default_rng(seed_for("s", "2017-10-30")))
    b = decide_arms(hh, camp, score, cost, 60.0, caps, cfg, np.random.default_rng(seed_for("s", "2017-10-30")))
    c = decide_arms(hh, camp, score, cost, 60.0, caps, cfg, np.random.default_rng(seed_for("s", "2017-10-31")))
    assert (a.arm == b.arm).all() and not (a.arm == c.arm).all()


@pytest.mark.parametrize("explore", [0.0, 0.3])
def test_no_exploration_means_deterministic_sends(explore):
    hh, camp, score, cost, caps = _instance()
    d = decide_arms(hh, camp, score, cost, 60.0, caps, PolicyConfig(explore, 0.0), np.random.default_rng(1))
    assert ((d.arm == EXPLORE).sum() > 0) == (explore > 0)
    assert (d.propensity[d.arm == EXPLOIT] == 1).all()


def test_explore_reserve_is_the_worst_draw_of_the_pools_not_of_every_pair():
    """The money kept for exploration is what the explore pools could cost at most, so the
    exploit part spends more of a binding budget than a reserve priced at the dearest pair."""
    hh, camp, score, cost, caps = _instance()
    budget, cfg = 60.0, PolicyConfig(explore_share=0.2, holdout_share=0.0)
    d = decide_arms(hh, camp, score, cost, budget, caps, cfg, np.random.default_rng(0))
    slots = {j: int(((d.arm == EXPLORE) & (camp == j)).sum()) for j in caps}  # no holdout: every draw is sent
    naive_reserve = sum(m * cost[camp == j].max() for j, m in slots.items())
    exploit_cost = cost[d.arm == EXPLOIT].sum()
    pool_rows = (d.p_selected > 0) & (d.p_selected < 1)
    worst_draw = sum(np.sort(cost[pool_rows & (camp == j)])[-m:].sum() for j, m in slots.items())
    assert exploit_cost + worst_draw <= budget + 1e-9          # every possible draw fits the budget
    assert exploit_cost > budget - naive_reserve + 1.0          # and the exploit part got more than before
    # whatever the draw, the budget holds
    for seed in range(50):
        other = decide_arms(hh, camp, score, cost, budget, caps, cfg, np.random.default_rng(seed))
        assert cost[np.isin(other.arm, (EXPLOIT, EXPLORE))].sum() <= budget + 1e-9


def test_exploration_is_a_share_of_the_sends_not_of_the_caps():
    """Caps far above what the budget buys: a share of the caps would make most sends explore."""
    hh, camp, score, cost, _ = _instance(n_households=2000)
    caps = {j: 1500 for j in range(3)}
    d = decide_arms(hh, camp, score, cost, 150.0, caps, PolicyConfig(explore_share=0.1, holdout_share=0.0),
                    np.random.default_rng(0))
    sent, explored = d.sent.sum(), (d.arm == EXPLORE).sum()
    assert sent > 150 and 0 < explored <= 0.1 * sent + 3  # 10% of the caps would be 450 draws
