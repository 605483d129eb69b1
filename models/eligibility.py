"""The eligibility policy: who may be contacted on a run date (plain Python, not SQL).

dbt provides the facts (activity, history); the policy decides. A household is, in this order:
``control`` when the salted sha256 of its id puts it in the long-lived control group (stable
across days and runs), ``inactive`` when its last purchase is older than the activity window,
otherwise ``eligible``.
"""

from __future__ import annotations

import hashlib

import numpy as np

ELIGIBLE, CONTROL, INACTIVE = "eligible", "control", "inactive"


def control_bucket(household_id: int, salt: str) -> float:
    """A uniform number in [0, 1) fixed by sha256(salt + household_id)."""
    digest = hashlib.sha256(f"{salt}{int(household_id)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def in_control_group(household_ids: np.ndarray, share: float, salt: str) -> np.ndarray:
    return np.array([control_bucket(h, salt) < share for h in household_ids], dtype=bool)


def eligibility(
    household_ids: np.ndarray,
    days_since_last_purchase: np.ndarray,
    *,
    active_window_days: int,
    control_share: float,
    control_salt: str,
) -> np.ndarray:
    """One status per candidate row: eligible, control or inactive."""
    control = in_control_group(household_ids, control_share, control_salt)
    active = np.asarray(days_since_last_purchase) <= active_window_days
    return np.where(control, CONTROL, np.where(active, ELIGIBLE, INACTIVE))
