"""The estimators on logs small enough to compute by hand: the simulation tests in test_measurement.py
show they are unbiased, these pin each term (which rows get a weight, what the weight is, what
the reward model adds) in milliseconds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from models.measurement import doubly_robust, ips, lift, snips, support

# four logged pairs: sent at propensity 0.5, sent at 0.25, not sent, sent with propensity 0
# (outside the logger's support); the target would send all four
REWARD = np.array([1.0, 0.0, 1.0, 1.0])
SENT = np.array([True, True, False, True])
PROPENSITY = np.array([0.5, 0.25, 0.5, 0.0])
TARGET = np.ones(4)


def test_ips_weighs_each_sent_pair_by_target_over_propensity():
    # weights 1/0.5 and 1/0.25; the unsent pair and the one the logger could not send weigh nothing
    assert ips(REWARD, SENT, PROPENSITY, TARGET) == pytest.approx(2 * 1.0 + 4 * 0.0)
    assert ips(REWARD, SENT, PROPENSITY, np.array([0.5, 1.0, 1.0, 1.0])) == pytest.approx(0.5 * 2)


def test_snips_is_the_weighted_mean_reward_times_the_target_s_sends_on_the_support():
    # (2 * 1 + 4 * 0) / (2 + 4) reward per weighted send, 3 target sends where the logger could send
    assert snips(REWARD, SENT, PROPENSITY, TARGET) == pytest.approx(2 / 6 * 3)
    assert snips(REWARD, np.zeros(4, dtype=bool), PROPENSITY, TARGET) == 0.0


def test_doubly_robust_adds_the_weighted_residuals_of_the_sent_pairs_to_the_reward_model():
    predicted = np.array([0.5, 0.2, 0.4, 0.9])
    # model: 0.5 + 0.2 + 0.4 + 0.9; residuals of sent pairs, weighted: 2 * (1 - 0.5) + 4 * (0 - 0.2)
    expected = 2.0 + 2 * 0.5 + 4 * -0.2
    assert doubly_robust(REWARD, SENT, PROPENSITY, TARGET, predicted) == pytest.approx(expected)


def test_support_is_the_share_of_target_sends_the_logger_could_make():
    assert support(PROPENSITY, TARGET) == pytest.approx(0.75)
    assert support(PROPENSITY, np.array([0.0, 0.0, 0.0, 2.0])) == 0.0
    assert support(PROPENSITY, np.zeros(4)) == 1.0  # nothing to send: nothing outside the support


def test_lift_is_the_welch_difference_with_its_interval():
    treated, control = np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.0, 1.0, 2.0])
    welch = stats.ttest_ind(treated, control, equal_var=False).confidence_interval(0.8)
    e = lift(treated, control, level=0.8)
    assert (e.value, e.low, e.high) == pytest.approx((1.5, welch.low, welch.high))


def test_lift_needs_two_households_a_side_and_survives_no_variance():
    assert all(
        math.isnan(x)
        for x in (lift(np.array([1.0]), np.array([0.0, 1.0])).value, lift(np.array([1.0, 2.0]), np.array([0.0])).low)
    )
    e = lift(np.array([3.0, 3.0, 3.0]), np.array([1.0, 1.0]))
    assert (e.value, e.low, e.high) == (2.0, 2.0, 2.0)
