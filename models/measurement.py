"""Measuring what the campaigns did: lift against the control, and off-policy values.

- ``lift``: difference in mean outcome (e.g. spend on the campaign's coupon products during its
  window) of treated versus control households, with a Welch confidence interval.
- ``ips``, ``snips``, ``doubly_robust``: the expected number of redemptions a *target* policy
  would have produced on the logged candidates, from the logging policy's decisions. Each row
  is a candidate pair with the logged action (sent or not), the logging propensity of sending
  it, the observed reward (redeemed; only a sent pair can redeem) and the target policy's
  probability of sending it. Rows the target would send but the logger never could (propensity
  0) are outside the logged support: ``support`` reports how much of the target lies there.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from models.interval import NAN_INTERVAL, Interval


def lift(treated: np.ndarray, control: np.ndarray, level: float = 0.90) -> Interval:
    """mean(treated) - mean(control) with a Welch t interval."""
    t, c = np.asarray(treated, float), np.asarray(control, float)
    if len(t) < 2 or len(c) < 2:
        return NAN_INTERVAL
    diff = t.mean() - c.mean()
    vt, vc = t.var(ddof=1) / len(t), c.var(ddof=1) / len(c)
    se = np.sqrt(vt + vc)
    dof = (vt + vc) ** 2 / (vt**2 / (len(t) - 1) + vc**2 / (len(c) - 1)) if se > 0 else len(t) + len(c) - 2
    q = stats.t.ppf(0.5 + level / 2, dof)
    return Interval(float(diff), float(diff - q * se), float(diff + q * se))


def _weights(sent: np.ndarray, propensity: np.ndarray, target: np.ndarray) -> np.ndarray:
    sent = np.asarray(sent, bool)
    p = np.asarray(propensity, float)
    w = np.zeros(len(p))
    ok = sent & (p > 0)
    w[ok] = np.asarray(target, float)[ok] / p[ok]
    return w


def support(propensity: np.ndarray, target: np.ndarray) -> float:
    """Share of the target policy's sends that the logging policy could have made."""
    t = np.asarray(target, float)
    return float(t[np.asarray(propensity) > 0].sum() / t.sum()) if t.sum() > 0 else 1.0


def ips(reward: np.ndarray, sent: np.ndarray, propensity: np.ndarray, target: np.ndarray) -> float:
    """Inverse propensity scoring: expected redemptions under the target policy (unbiased on support)."""
    return float((_weights(sent, propensity, target) * np.asarray(reward, float)).sum())


def snips(reward: np.ndarray, sent: np.ndarray, propensity: np.ndarray, target: np.ndarray) -> float:
    """Self-normalised IPS: the weighted mean reward times the target's number of sends."""
    w = _weights(sent, propensity, target)
    if w.sum() == 0:
        return 0.0
    return float(
        (w * np.asarray(reward, float)).sum() / w.sum() * np.asarray(target, float)[np.asarray(propensity) > 0].sum()
    )


def doubly_robust(
    reward: np.ndarray, sent: np.ndarray, propensity: np.ndarray, target: np.ndarray, predicted: np.ndarray
) -> float:
    """A reward model's prediction for every target send, corrected by IPS on the logged sends."""
    w = _weights(sent, propensity, target)
    mu = np.asarray(predicted, float)
    resid = np.where(np.asarray(sent, bool), np.asarray(reward, float) - mu, 0.0)
    return float((np.asarray(target, float) * mu).sum() + (w * resid).sum())
