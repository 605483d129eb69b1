"""Metrics of redemption scores, and household-cluster bootstrap intervals for model differences.

All metrics take numpy arrays: ``y`` (0/1 labels), ``p`` (scores), ``campaign`` (campaign ids)
and, for the bootstrap, ``household`` (household ids: resampling whole households keeps the
correlation of one household's rows across campaigns).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import rankdata

from models.interval import Interval

CAPTURE_SHARES = (0.10, 0.20, 0.50)


def roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    y = np.asarray(y, bool)
    n_pos, n_neg = y.sum(), (~y).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(p)  # ties get average ranks
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def pr_auc(y: np.ndarray, p: np.ndarray) -> float:
    """Average precision (area under the precision-recall curve, step-wise)."""
    y = np.asarray(y, bool)
    if y.sum() == 0:
        return float("nan")
    order = np.argsort(-np.asarray(p), kind="stable")
    hits = y[order]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision[hits].sum() / hits.sum())


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(np.asarray(p, float), 1e-7, 1 - 1e-7)
    y = np.asarray(y, float)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


def auc_within_campaign(y: np.ndarray, p: np.ndarray, campaign: np.ndarray) -> float:
    """Mean of each campaign's ROC AUC, weighted by its number of positives."""
    total, weight = 0.0, 0
    for c in np.unique(campaign):
        m = campaign == c
        auc = roc_auc(y[m], p[m])
        if not np.isnan(auc):
            total += auc * y[m].sum()
            weight += int(y[m].sum())
    return total / weight if weight else float("nan")


def capture_at(y: np.ndarray, p: np.ndarray, campaign: np.ndarray, share: float) -> float:
    """Share of all redeemers reached when each campaign contacts only its top ``share`` by score."""
    reached = 0
    for c in np.unique(campaign):
        m = campaign == c
        k = int(np.ceil(share * m.sum()))
        top = np.argsort(-p[m], kind="stable")[:k]
        reached += int(y[m][top].sum())
    total = int(np.asarray(y).sum())
    return reached / total if total else float("nan")


# every metric as f(y, p, campaign); all_metrics and the bootstrap intervals use this one list
def _capture_metric(share: float) -> Callable[[np.ndarray, np.ndarray, np.ndarray], float]:
    return lambda y, p, c: capture_at(y, p, c, share)


METRICS: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], float]] = {
    "roc_auc": lambda y, p, c: roc_auc(y, p),
    "pr_auc": lambda y, p, c: pr_auc(y, p),
    "log_loss": lambda y, p, c: log_loss(y, p),
    "auc_within_campaign": auc_within_campaign,
    **{f"capture_{int(s * 100)}": _capture_metric(s) for s in CAPTURE_SHARES},
}
LOWER_IS_BETTER = frozenset({"log_loss"})


def all_metrics(y: np.ndarray, p: np.ndarray, campaign: np.ndarray) -> dict[str, float]:
    y, p, campaign = np.asarray(y), np.asarray(p, float), np.asarray(campaign)
    out = {name: metric(y, p, campaign) for name, metric in METRICS.items()}
    out["rows"], out["positives"] = float(len(y)), float(y.sum())
    return out


def reliability_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Observed vs predicted redemption rate by score decile (calibration check)."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    edges = np.quantile(p, np.linspace(0, 1, bins + 1))
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, bins - 1)
    rows = []
    for b in range(bins):
        m = idx == b
        if m.any():
            rows.append(
                {"bin": b, "rows": int(m.sum()), "mean_score": float(p[m].mean()), "observed_rate": float(y[m].mean())}
            )
    return rows


def calibration_ratio(y: np.ndarray, p: np.ndarray) -> float:
    """Predicted redemptions over observed ones (1 = calibrated on the whole)."""
    observed = float(np.asarray(y).sum())
    return float(np.asarray(p).sum()) / observed if observed else float("inf")


def bootstrap_differences(
    metrics: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], float]],
    y: np.ndarray,
    p_a: np.ndarray,
    p_b: np.ndarray,
    campaign: np.ndarray,
    household: np.ndarray,
    *,
    n_boot: int = 300,
    level: float = 0.90,
    seed: int = 0,
) -> dict[str, Interval]:
    """metric(B) - metric(A) for each metric, with household-cluster bootstrap intervals.

    Every metric is differenced on the same resamples of whole households.
    """
    y, p_a, p_b = np.asarray(y), np.asarray(p_a, float), np.asarray(p_b, float)
    campaign = np.asarray(campaign)
    rng = np.random.default_rng(seed)
    households, inverse = np.unique(household, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(households) + 1))
    rows_of = [order[bounds[i] : bounds[i + 1]] for i in range(len(households))]
    diffs: dict[str, list[float]] = {name: [] for name in metrics}
    for _ in range(n_boot):
        pick = rng.integers(0, len(households), len(households))
        idx = np.concatenate([rows_of[i] for i in pick])
        for name, metric in metrics.items():
            d = metric(y[idx], p_b[idx], campaign[idx]) - metric(y[idx], p_a[idx], campaign[idx])
            if not np.isnan(d):
                diffs[name].append(d)
    tail = (1 - level) / 2
    out = {}
    for name, metric in metrics.items():
        point = metric(y, p_b, campaign) - metric(y, p_a, campaign)
        out[name] = Interval(point, float(np.quantile(diffs[name], tail)), float(np.quantile(diffs[name], 1 - tail)))
    return out


def bootstrap_difference(
    metric: Callable[[np.ndarray, np.ndarray, np.ndarray], float],
    y: np.ndarray,
    p_a: np.ndarray,
    p_b: np.ndarray,
    campaign: np.ndarray,
    household: np.ndarray,
    *,
    n_boot: int = 300,
    level: float = 0.90,
    seed: int = 0,
) -> Interval:
    """metric(B) - metric(A), with a household-cluster bootstrap interval."""
    return bootstrap_differences(
        {"m": metric}, y, p_a, p_b, campaign, household, n_boot=n_boot, level=level, seed=seed
    )["m"]
