"""Champion / challenger: the hold-out, the sanity checks and the promotion rule.

The hold-out is the most recent fully observed campaigns (by end date) that together hold at
least ``min_positives`` redeemers. On this data one Type A campaign usually fills it alone, so
the rule works on one campaign's households: the challenger is promoted only when it is sane
and its positive-weighted within-campaign AUC beats the champion's by at least ``min_gain``
with the household-cluster bootstrap interval of the difference entirely above zero, and its
log loss is not worse by more than ``max_log_loss_increase``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from models.evaluation import all_metrics, auc_within_campaign, bootstrap_difference, calibration_ratio


@dataclass(frozen=True)
class PromotionRule:
    min_gain: float = 0.01  # in within-campaign AUC
    level: float = 0.90  # two-sided level of the bootstrap interval
    max_log_loss_increase: float = 0.02
    calibration_low: float = 0.5  # predicted / observed redemptions on the hold-out
    calibration_high: float = 2.0
    n_boot: int = 300


@dataclass
class PromotionDecision:
    promote: bool
    reason: str
    champion: dict[str, float]
    challenger: dict[str, float]
    auc_gain: dict[str, float]
    holdout_campaigns: list[int]
    problems: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def select_holdout(examples: pd.DataFrame, min_positives: int) -> list[int]:
    """The most recent fully observed campaigns holding at least ``min_positives`` redeemers."""
    final = examples[examples["label_is_final"] & ~examples["is_censored"]]
    by_end = final.groupby("campaign_id").agg(end=("end_date", "first"), pos=("label", "sum"))
    by_end = by_end.sort_values(["end", "pos"], ascending=[False, False], kind="stable")
    chosen, positives = [], 0
    for cid, row in by_end.iterrows():
        chosen.append(int(cid))
        positives += int(row["pos"])
        if positives >= min_positives:
            return chosen
    raise ValueError(
        f"the fully observed campaigns hold only {positives} redeemers, fewer than the hold-out needs "
        f"({min_positives}, COUPONFLOW_MIN_HOLDOUT_POSITIVES): land more days first"
    )


def sanity_problems(
    scores: np.ndarray, y: np.ndarray, rule: PromotionRule, features: list[str], mart_columns: set[str]
) -> list[str]:
    problems = []
    if np.isnan(scores).any() or np.isinf(scores).any():
        problems.append("scores contain NaN or infinite values")
    elif np.ptp(scores) < 1e-9:
        problems.append("scores are constant")
    elif (scores < 0).any() or (scores > 1).any():
        problems.append("scores are not probabilities in [0, 1]")
    else:
        ratio = calibration_ratio(y, scores)
        if not rule.calibration_low <= ratio <= rule.calibration_high:
            problems.append(
                f"calibration off: predicts {ratio:.2f}x the observed redemptions "
                f"(allowed {rule.calibration_low}-{rule.calibration_high})"
            )
    missing = sorted(set(features) - mart_columns)
    if missing:
        problems.append(f"features missing from today's marts: {missing}")
    return problems


def decide(
    y: np.ndarray,
    campaign: np.ndarray,
    household: np.ndarray,
    p_champion: np.ndarray,
    p_challenger: np.ndarray,
    rule: PromotionRule,
    *,
    features: list[str] | None = None,
    mart_columns: set[str] | None = None,
    holdout_campaigns: list[int] | None = None,
) -> PromotionDecision:
    """Compare two sets of scores on the same hold-out rows and decide whether to promote."""
    y = np.asarray(y)
    champ = all_metrics(y, p_champion, campaign)
    problems = sanity_problems(
        np.asarray(p_challenger, float),
        y,
        rule,
        features or [],
        mart_columns if mart_columns is not None else set(features or []),
    )
    if problems:
        return PromotionDecision(
            False, "challenger is not sane: " + "; ".join(problems), champ, {}, {}, holdout_campaigns or [], problems
        )
    chall = all_metrics(y, p_challenger, campaign)
    gain = bootstrap_difference(
        auc_within_campaign,
        y,
        np.asarray(p_champion, float),
        np.asarray(p_challenger, float),
        campaign,
        household,
        n_boot=rule.n_boot,
        level=rule.level,
    )
    gain_d = {"mean": gain.value, "low": gain.low, "high": gain.high}
    worse_ll = chall["log_loss"] - champ["log_loss"]
    if gain.value < rule.min_gain:
        reason = f"AUC gain {gain.value:+.4f} is below the margin {rule.min_gain}"
    elif gain.low <= 0:
        reason = (
            f"AUC gain {gain.value:+.4f} is not significant: {int(rule.level * 100)}% interval "
            f"[{gain.low:+.4f}, {gain.high:+.4f}] includes 0"
        )
    elif worse_ll > rule.max_log_loss_increase:
        reason = f"log loss worse by {worse_ll:.4f} (allowed {rule.max_log_loss_increase})"
    else:
        return PromotionDecision(
            True,
            f"AUC within campaign {chall['auc_within_campaign']:.4f} vs {champ['auc_within_campaign']:.4f} "
            f"(gain {gain.value:+.4f}, {int(rule.level * 100)}% interval [{gain.low:+.4f}, {gain.high:+.4f}]), "
            f"log loss {chall['log_loss']:.4f} vs {champ['log_loss']:.4f}",
            champ,
            chall,
            gain_d,
            holdout_campaigns or [],
            [],
        )
    return PromotionDecision(False, reason, champ, chall, gain_d, holdout_campaigns or [], [])
