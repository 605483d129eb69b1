"""The cost model: what sending a coupon to a household is expected to cost.

A redeeming household costs the campaign's discount per coupon line (``expected_discount``,
from past coupon discounts) times the discounted lines a redeemer of past campaigns of its type
took (``lines_per_redeemer``, about 3.5 for Type A); a send costs that times P(redeem), plus the
contact cost of every send, redeemed or not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def cost_per_redeemer(
    expected_discount: pd.Series, lines_per_redeemer: pd.Series, default_discount: float
) -> np.ndarray:
    """Per candidate: what a redeeming household costs (a campaign without history gets the default)."""
    return (expected_discount.astype(float).fillna(default_discount) * lines_per_redeemer.astype(float)).to_numpy()


def expected_cost(score: np.ndarray, per_redeemer: np.ndarray, contact_cost: float) -> np.ndarray:
    """p x what a redeemer costs + the contact cost."""
    return score * per_redeemer + contact_cost
