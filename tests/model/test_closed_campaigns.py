"""Measuring a closed campaign from its decision log: simulated campaigns where the truth is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.closed_campaigns import LIFT_NOT_CAUSAL, greedy_target, measure_campaign
from models.policy import EXPLORE, HOLDOUT, PolicyConfig, decide_arms

SPEND_EFFECT, RATE_EFFECT = 4.0, 0.05


def simulate(seed: int, n: int = 3000, cap: int = 900, holdout: float = 0.2) -> tuple[pd.DataFrame, np.ndarray]:
    """One campaign logged by the real policy; sending adds SPEND_EFFECT to spend on the coupon
    products and RATE_EFFECT to the redemption probability. Returns the log and the true p."""
    rng = np.random.default_rng(seed)
    p = rng.beta(1.5, 10, n)
    score = np.clip(p + rng.normal(0, 0.03, n), 1e-4, 1)  # the logging model: p seen through noise
    cost = score * 2.0 + 0.1
    d = decide_arms(
        np.arange(n),
        np.zeros(n, int),
        score,
        cost,
        1e9,
        {0: cap},
        PolicyConfig(explore_share=0.2, holdout_share=holdout),
        rng,
    )
    sent = d.sent
    redeemed = (rng.random(n) < p + RATE_EFFECT * sent).astype(int)
    spend = rng.gamma(2.0, 5.0, n) + 30 * p + SPEND_EFFECT * sent
    log = pd.DataFrame(
        {
            "arm": d.arm,
            "chosen": sent,
            "propensity": d.propensity,
            "score": score,
            "expected_cost": cost,
            "redeemed": redeemed,
            "redemption_discount": redeemed * 1.5,
            "spend_on_coupon_products": spend,
        }
    )
    return log, p


def test_counts_capture_and_actual_cost_follow_the_log():
    log, _ = simulate(0)
    m = measure_campaign(log, contact_cost=0.1, causal=True)
    sent = log["chosen"]
    assert m["sends"] == sent.sum() and m["holdout"] == (log["arm"] == HOLDOUT).sum() > 0
    assert m["explore_sends"] == (log["arm"] == EXPLORE).sum() > 0
    assert m["redeemed"] == log.loc[sent, "redeemed"].sum()
    assert m["capture"] == pytest.approx(log.loc[sent, "redeemed"].sum() / log["redeemed"].sum())
    assert m["actual_cost"] == pytest.approx(1.5 * log.loc[sent, "redeemed"].sum() + 0.1 * sent.sum())
    assert m["expected_cost"] == pytest.approx(log.loc[sent, "expected_cost"].sum())


def test_lift_against_the_holdout_recovers_the_known_effect():
    """Over many simulated campaigns the 90% intervals cover the true effect about 90% of the
    time; the selection bias of the sends never leaks in, because the holdout is drawn among the
    selected."""
    covered_spend, covered_rate, estimates = 0, 0, []
    runs = 200
    for seed in range(runs):
        m = measure_campaign(simulate(seed)[0], contact_cost=0.1, causal=True)
        s, r = m["lift_spend"], m["lift_redemption_rate"]
        covered_spend += s["low"] <= SPEND_EFFECT <= s["high"]
        covered_rate += r["low"] <= RATE_EFFECT <= r["high"]
        estimates.append(s["value"])
    assert 0.84 <= covered_spend / runs <= 0.96
    assert 0.84 <= covered_rate / runs <= 0.96
    assert np.mean(estimates) == pytest.approx(SPEND_EFFECT, abs=0.3)


def test_sent_versus_everyone_else_would_be_biased():
    """Why the holdout: the sends are the high scorers, so comparing them with the households we
    did not choose overstates the effect several times over."""
    log, _ = simulate(1)
    sent = log["chosen"].to_numpy()
    naive = log.loc[sent, "spend_on_coupon_products"].mean() - log.loc[~sent, "spend_on_coupon_products"].mean()
    honest = measure_campaign(log, contact_cost=0.1, causal=True)["lift_spend"]["value"]
    assert naive > 2 * SPEND_EFFECT and abs(honest - SPEND_EFFECT) < abs(naive - SPEND_EFFECT)


def test_lift_is_na_on_replayed_history():
    m = measure_campaign(simulate(2)[0], contact_cost=0.1, causal=False)
    assert m["lift_spend"] is None and m["lift_redemption_rate"] is None
    assert m["lift_note"] == LIFT_NOT_CAUSAL
    assert m["capture"] is not None  # what history can show instead


def test_off_policy_value_of_a_better_target_is_unbiased_on_its_support():
    """Target: the true p's top scorers (as many as were sent). Its true value, on the part of it
    the logger could send, is the sum of p + RATE_EFFECT there; IPS and DR average to it."""
    ips, dr, truth = [], [], []
    for seed in range(300):
        log, p = simulate(seed, holdout=0.1)
        m = measure_campaign(log, contact_cost=0.1, causal=True, target_score=p)["off_policy"]
        target = greedy_target(np.ones(len(p), bool), p, int(log["chosen"].sum()))
        on_support = (target > 0) & (log["propensity"].to_numpy() > 0)
        truth.append(((p + RATE_EFFECT) * on_support).sum())
        ips.append(m["ips"])
        dr.append(m["doubly_robust"] - (target * ~on_support * p).sum())  # DR also credits off-support rows
        assert 0 < m["support"] <= 1 and m["target_sends"] == log["chosen"].sum()
    assert np.mean(ips) == pytest.approx(np.mean(truth), rel=0.05)
    assert np.mean(dr) == pytest.approx(np.mean(truth), rel=0.05)


def test_a_log_without_outcomes_is_refused():
    log, _ = simulate(3)
    with pytest.raises(ValueError, match="spend_on_coupon_products"):
        measure_campaign(log.drop(columns="spend_on_coupon_products"), contact_cost=0.1, causal=True)


def test_the_realised_auc_ranks_the_logged_scores_of_every_candidate_by_hand():
    log = pd.DataFrame(
        {
            "arm": ["exploit", "not_chosen", "control", "exploit"],
            "chosen": [True, False, False, True],
            "propensity": [1.0, 0.0, 0.0, 1.0],
            "score": [0.1, 0.4, 0.35, 0.8],
            "expected_cost": [0.3, 0.5, 0.4, 1.0],
            "redeemed": [0.0, 0.0, 1.0, 1.0],
            "redemption_discount": [0.0, 0.0, 1.5, 2.0],
            "spend_on_coupon_products": [0.0, 0.0, 3.0, 4.0],
        }
    )
    # redeemers 0.35 and 0.8 against 0.1 and 0.4: 0.35 beats 0.1 only, 0.8 beats both -> 3 of 4 pairs
    assert measure_campaign(log, contact_cost=0.1, causal=False)["auc"] == 0.75
    assert measure_campaign(log.assign(score=[0.1, 0.35, 0.35, 0.8]), contact_cost=0.1, causal=False)["auc"] == 0.875
    assert measure_campaign(log.assign(redeemed=0.0), contact_cost=0.1, causal=False)["auc"] is None
