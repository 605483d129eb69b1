"""What a published campaign did, once its window has closed: plain functions over its decision
log joined with the outcomes the lake recorded in the window (marts.campaign_outcomes).

``measure_campaign`` takes one campaign's decision-log rows (every candidate: arm, chosen,
propensity, score, expected cost) with the outcome columns ``redeemed``,
``redemption_discount`` and ``spend_on_coupon_products``, and returns:

- counts: sends, explore sends, per-campaign holdout;
- redemptions: expected (sum of the scores sent) against actual (our sends that redeemed), the
  redemption rate of the sends and of the holdout, and the **capture**: the share of all the
  campaign's redeemers among the candidates that our sends reached;
- ranking: the realised **AUC** of the logged scores (the model that decided the campaign) over
  every candidate of the log against who redeemed, within this one campaign (None when nobody
  or everybody redeemed);
- cost: expected (sum of the expected costs sent) against actual (the coupon discount our
  redeeming sends really took, plus the contact cost of every send);
- **lift** (only when ``causal``): spend on the campaign's coupon products of the sent
  households minus that of the holdout (selected, then held back at random), with a Welch
  interval, and the same for the redemption rate. On replayed real history our sends reached
  nobody, so a treated-vs-holdout difference would compare the retailer's choices, not ours:
  lift is then ``None`` with the reason (DESIGN.md, honest lift);
- **off-policy** (when target scores are given): what a target policy would have redeemed on
  this campaign: the target sends the same number of households, its top scorers among the
  eligible, valued by IPS, self-normalised IPS and doubly robust (the target's scores as the
  reward model), with the share of the target that the logging policy could have sent.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from models import measurement
from models.evaluation import roc_auc
from models.interval import Interval
from models.policy import EXPLORE, HOLDOUT, NOT_CHOSEN, SENT_ARMS

ELIGIBLE_ARMS = (*SENT_ARMS, HOLDOUT, NOT_CHOSEN)
LIFT_NOT_CAUSAL = (
    "n/a: replayed real history, where our sends reached nobody; a treated-vs-holdout "
    "difference would compare the retailer's choices, not ours"
)
OUTCOME_COLUMNS = ("redeemed", "redemption_discount", "spend_on_coupon_products")


def greedy_target(eligible: np.ndarray, score: np.ndarray, n: int) -> np.ndarray:
    """A deterministic target policy: 1 for the ``n`` best-scoring eligible rows (ties: row order)."""
    target = np.zeros(len(score))
    rows = np.flatnonzero(eligible)
    if n > 0 and len(rows):
        best = rows[np.argsort(-score[rows], kind="stable")[:n]]
        target[best] = 1.0
    return target


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _interval(est: Interval) -> dict[str, float] | None:
    if not np.isfinite(est.value):
        return None
    return {"value": est.value, "low": est.low, "high": est.high}


def measure_campaign(
    log: pd.DataFrame, *, contact_cost: float, causal: bool, target_score: np.ndarray | None = None, level: float = 0.90
) -> dict[str, Any]:
    """Measure one closed campaign (see the module's docstring); ``log`` is one campaign's rows."""
    missing = [c for c in ("arm", "chosen", "propensity", "score", "expected_cost", *OUTCOME_COLUMNS) if c not in log]
    if missing:
        raise ValueError(f"the decision log joined with its outcomes lacks {missing}")
    arm = log["arm"].to_numpy(dtype=str)
    sent = log["chosen"].to_numpy(dtype=bool)
    held = arm == HOLDOUT
    redeemed = log["redeemed"].to_numpy(dtype=float)
    spend = log["spend_on_coupon_products"].to_numpy(dtype=float)
    n_sent = int(sent.sum())
    all_redeemers = float(redeemed.sum())
    out: dict[str, Any] = {
        "candidates": len(log),
        "sends": n_sent,
        "explore_sends": int((arm == EXPLORE).sum()),
        "holdout": int(held.sum()),
        "expected_redemptions": float(log.loc[sent, "score"].sum()),
        "redeemed": int(redeemed[sent].sum()),
        "redemption_rate": float(redeemed[sent].mean()) if n_sent else None,
        "holdout_redemption_rate": float(redeemed[held].mean()) if held.any() else None,
        "capture": float(redeemed[sent].sum() / all_redeemers) if all_redeemers else None,
        "redeemers_among_candidates": int(all_redeemers),
        "auc": _finite(roc_auc(redeemed > 0, log["score"].to_numpy(dtype=float))),
        "expected_cost": float(log.loc[sent, "expected_cost"].sum()),
        "actual_cost": float(log.loc[sent, "redemption_discount"].sum() + contact_cost * n_sent),
    }
    out["actual_over_expected_cost"] = out["actual_cost"] / out["expected_cost"] if out["expected_cost"] > 0 else None
    if causal:
        out["lift_spend"] = _interval(measurement.lift(spend[sent], spend[held], level))
        out["lift_redemption_rate"] = _interval(measurement.lift(redeemed[sent], redeemed[held], level))
        out["lift_note"] = "" if out["lift_spend"] else "n/a: fewer than 2 sent or held-back households"
    else:
        out["lift_spend"] = out["lift_redemption_rate"] = None
        out["lift_note"] = LIFT_NOT_CAUSAL
    if target_score is not None:
        target_score = np.asarray(target_score, dtype=float)
        target = greedy_target(np.isin(arm, ELIGIBLE_ARMS), target_score, n_sent)
        prop = log["propensity"].to_numpy(dtype=float)
        out["off_policy"] = {
            "target_sends": int(target.sum()),
            "logged_redeemed": int(redeemed[sent].sum()),
            "ips": measurement.ips(redeemed, sent, prop, target),
            "snips": measurement.snips(redeemed, sent, prop, target),
            "doubly_robust": measurement.doubly_robust(redeemed, sent, prop, target, target_score),
            "support": measurement.support(prop, target),
        }
    return out
