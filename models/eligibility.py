"""The eligibility policy: who may be contacted on a run date (plain Python, not SQL).

dbt provides the facts (activity, history) and the lake our own past sends; the policy decides.
A candidate pair is, in this order of precedence:
  ``control``        the salted sha256 of the household id puts it in the long-lived control
                     group (stable across days and runs): it never receives a campaign;
  ``do_not_contact`` the household is on the do-not-contact list;
  ``inactive``       its last purchase is older than the activity window;
  ``contact_cap``    it already had ``max_sends`` of our sends in the trailing window;
  ``live_same_type`` one of our campaigns of the same type is still running for it;
  ``eligible``       otherwise.
"""

from __future__ import annotations

import hashlib

import numpy as np

ELIGIBLE, CONTROL, INACTIVE = "eligible", "control", "inactive"
DO_NOT_CONTACT, CONTACT_CAP, LIVE_SAME_TYPE = "do_not_contact", "contact_cap", "live_same_type"


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
    do_not_contact: np.ndarray | None = None,
    recent_sends: np.ndarray | None = None,
    max_sends: int | None = None,
    live_same_type: np.ndarray | None = None,
) -> np.ndarray:
    """One status per candidate row (see the module's docstring for the order)."""
    n = len(household_ids)
    no = np.zeros(n, dtype=bool)
    rules = [
        (CONTROL, in_control_group(household_ids, control_share, control_salt)),
        (DO_NOT_CONTACT, no if do_not_contact is None else np.asarray(do_not_contact, bool)),
        (INACTIVE, np.asarray(days_since_last_purchase) > active_window_days),
        (CONTACT_CAP, no if recent_sends is None or max_sends is None else np.asarray(recent_sends) >= max_sends),
        (LIVE_SAME_TYPE, no if live_same_type is None else np.asarray(live_same_type, bool)),
    ]
    status = np.full(n, ELIGIBLE, dtype=object)
    for name, hit in reversed(rules):  # earlier rules win: apply them last
        status[hit] = name
    return status.astype(str)
