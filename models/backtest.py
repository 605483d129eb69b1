"""Backtest at a cut date: train on what was known before it, score what came after.

Training rows: campaigns that ended before the cut (so their labels, redemptions dated in their
window, are all dated before the cut) and therefore also started before it. Scored rows: every
recipient of every campaign starting on or after the cut, with features as of that campaign's
start, evaluated where the campaign's window is fully observed in the lake. Compared on the
same rows with simple baselines: random scores, the smoothed past redemption rate (v0) and a
logistic regression.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import pandas as pd

from models.evaluation import Interval, all_metrics, auc_within_campaign, bootstrap_difference
from models.scoring import v0_scorer
from models.training import TrainConfig, train


def training_rows(examples: pd.DataFrame, cut: date) -> pd.DataFrame:
    return examples[examples["end_date"] < pd.Timestamp(cut)].sort_values(["campaign_id", "household_id"])


def scored_rows(examples: pd.DataFrame, cut: date) -> pd.DataFrame:
    rows = examples[examples["as_of_date"] >= pd.Timestamp(cut)]
    return rows.sort_values(["campaign_id", "household_id"]).reset_index(drop=True)


@dataclass
class BacktestResult:
    cut: date
    scores: pd.DataFrame               # household_id, campaign_id, score (the model under test)
    metrics: dict[str, dict[str, float]]  # model name -> metrics on the fully observed rows
    vs_logistic: dict[str, Interval]   # model name -> within-campaign AUC minus the logistic's
    evaluated_campaigns: list[int]
    train_rows: int


def backtest(examples: pd.DataFrame, cut: date, config: TrainConfig, *,
             families: tuple[str, ...] = (), prior_strength: float = 5.0, n_boot: int = 300) -> BacktestResult:
    train_df = training_rows(examples, cut)
    if train_df.empty:
        raise ValueError(f"no campaign ended before {cut}: pick a later cut")
    scored = scored_rows(examples, cut)
    if scored.empty:
        raise ValueError(f"no campaign starts on or after {cut} in the lake: pick an earlier cut")
    evaluated = scored[scored["label_is_final"] & ~scored["is_censored"]]

    models = {"model": config} | {f: replace(config, family=f) for f in families if f != config.family}
    models["logistic"] = replace(config, family="logistic")
    scores: dict[str, np.ndarray] = {}
    for name, cfg in models.items():
        scores[name] = train(train_df, cfg).predict(scored)
    scores["v0_rule"] = v0_scorer(prior_strength).predict(scored)
    scores["random"] = np.random.default_rng(0).random(len(scored))

    mask = scored.index.isin(evaluated.index)
    y, camp, hh = (evaluated[c].to_numpy() for c in ("label", "campaign_id", "household_id"))
    metrics = {name: all_metrics(y, s[mask], camp) for name, s in scores.items()}
    vs = {name: bootstrap_difference(auc_within_campaign, y, scores["logistic"][mask], s[mask], camp, hh,
                                     n_boot=n_boot)
          for name, s in scores.items() if name != "logistic"}
    out = scored[["household_id", "campaign_id"]].assign(score=scores["model"])
    return BacktestResult(cut, out, metrics, vs, sorted(int(c) for c in evaluated["campaign_id"].unique()),
                          len(train_df))


def format_table(result: BacktestResult) -> str:
    cols = ["roc_auc", "pr_auc", "log_loss", "auc_within_campaign", "capture_10", "capture_20", "capture_50"]
    lines = [f"backtest at cut {result.cut}: trained on {result.train_rows} rows (campaigns ended before the cut); "
             f"evaluated on campaigns {result.evaluated_campaigns}",
             f"{'model':<12}" + "".join(f"{c:>{len(c) + 2}}" for c in cols) + f"{'AUCwc - logistic (90% CI)':>34}"]
    for name, m in result.metrics.items():
        diff = result.vs_logistic.get(name)
        ci = f"{diff.mean:+.3f} [{diff.low:+.3f}, {diff.high:+.3f}]" if diff else "(reference)"
        lines.append(f"{name:<12}" + "".join(f"{m[c]:>{len(c) + 2}.4f}" for c in cols) + f"{ci:>34}")
    return "\n".join(lines)
