"""Lift and off-policy estimators are unbiased on simulated data whose effect is known."""

from __future__ import annotations

import numpy as np

from models.measurement import doubly_robust, ips, lift, snips, support
from models.policy import PolicyConfig, decide_arms


def test_lift_interval_covers_the_known_effect():
    rng = np.random.default_rng(0)
    effect, covered, estimates = 1.5, 0, []
    for _ in range(500):
        control = rng.gamma(2.0, 5.0, 300)
        treated = rng.gamma(2.0, 5.0, 900) + effect
        e = lift(treated, control, level=0.90)
        covered += e.low <= effect <= e.high
        estimates.append(e.value)
    assert abs(np.mean(estimates) - effect) < 0.1
    assert 0.86 <= covered / 500 <= 0.94


def test_off_policy_estimators_are_unbiased_for_a_new_policy():
    """Log with our own policy (exploit + explore + holdout), then value another policy."""
    rng = np.random.default_rng(1)
    n_h, n_c = 600, 2
    hh = np.repeat(np.arange(n_h), n_c)
    camp = np.tile(np.arange(n_c), n_h)
    x = rng.normal(size=len(hh))
    mu_true = 1 / (1 + np.exp(-(-2.0 + 1.2 * x)))  # the real redemption probability if sent
    logged_score = 1 / (1 + np.exp(-(-2.0 + 0.4 * x + rng.normal(0, 1, len(hh)))))  # a weak model
    cost = logged_score + 0.1
    caps = {0: 150, 1: 150}
    config = PolicyConfig(explore_share=0.3, holdout_share=0.1)
    target = ((x > 0.3) & (camp == 0)).astype(float)  # the policy to evaluate off-line
    truth = float((target * mu_true).sum())

    estimates = {"ips": [], "snips": [], "dr": []}
    first = decide_arms(hh, camp, logged_score, cost, 120.0, caps, config, np.random.default_rng(0))
    target = target * (first.propensity > 0)  # evaluate on the logged support
    truth = float((target * mu_true).sum())
    for seed in range(400):
        d = decide_arms(hh, camp, logged_score, cost, 120.0, caps, config, np.random.default_rng(seed))
        reward = (d.sent & (rng.random(len(hh)) < mu_true)).astype(float)
        estimates["ips"].append(ips(reward, d.sent, d.propensity, target))
        estimates["snips"].append(snips(reward, d.sent, d.propensity, target))
        estimates["dr"].append(doubly_robust(reward, d.sent, d.propensity, target, np.clip(mu_true * 0.8, 0, 1)))
    assert support(first.propensity, target) == 1.0
    se = np.std(estimates["ips"]) / np.sqrt(len(estimates["ips"]))
    assert abs(np.mean(estimates["ips"]) - truth) < 4 * se + 1e-9
    assert abs(np.mean(estimates["dr"]) - truth) < 4 * np.std(estimates["dr"]) / 20 + 1e-9
    assert abs(np.mean(estimates["snips"]) - truth) / truth < 0.05  # consistent, small bias
    assert np.std(estimates["dr"]) < np.std(estimates["ips"])  # the reward model cuts variance


def test_support_reports_what_the_logger_could_never_have_sent():
    assert support(np.array([0.5, 0.0, 1.0]), np.array([1.0, 1.0, 0.0])) == 0.5
