"""Champion v0: the transparent cold-start rule, used until a trained model wins.

p(redeem) of a household = its smoothed past redemption rate
    (campaigns redeemed + m * prior) / (campaigns received + m)
where ``prior`` is the redemption rate over all candidates (Laplace-smoothed) and ``m`` the
prior's strength in pseudo-campaigns. A household with no history gets the prior.
"""

from __future__ import annotations

import numpy as np

KIND = "rule"
DESCRIPTION = "smoothed past redemption rate: (redeemed + m*prior) / (received + m)"


def smoothed_redemption_rate(
    received: np.ndarray, redeemed: np.ndarray, prior_strength: float
) -> tuple[np.ndarray, float]:
    """Scores in (0, 1) and the prior they shrink towards."""
    # a household with no history before the start (null facts) has received and redeemed nothing
    received = np.nan_to_num(np.asarray(received, dtype=float), nan=0.0)
    redeemed = np.nan_to_num(np.asarray(redeemed, dtype=float), nan=0.0)
    if np.any(redeemed > received) or np.any(received < 0):
        raise ValueError("redeemed must lie in [0, received] for every household")
    prior = (redeemed.sum() + 1.0) / (received.sum() + 2.0)
    return (redeemed + prior_strength * prior) / (received + prior_strength), float(prior)
