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

from models.evaluation import LOWER_IS_BETTER, METRICS, all_metrics, bootstrap_differences
from models.interval import Interval
from models.scoring import v0_scorer
from models.training import TrainConfig, train


def training_rows(examples: pd.DataFrame, cut: date) -> pd.DataFrame:
    return examples[examples["end_date"] < pd.Timestamp(cut)].sort_values(["campaign_id", "household_id"])


def scored_rows(examples: pd.DataFrame, cut: date) -> pd.DataFrame:
    rows = examples[examples["as_of_date"] >= pd.Timestamp(cut)]
    return rows.sort_values(["campaign_id", "household_id"]).reset_index(drop=True)


def evaluated_rows(scored: pd.DataFrame) -> pd.DataFrame:
    """The scored rows whose campaign window is fully observed: the ones the metrics use."""
    return scored[scored["label_is_final"] & ~scored["is_censored"]]


def metrics_over_seeds(train_df: pd.DataFrame, rows: pd.DataFrame, config: TrainConfig, seeds) -> np.ndarray:
    """[seed, metric] of ``config`` trained with each seed, every metric of METRICS in its order."""
    y, c = rows["label"].to_numpy(), rows["campaign_id"].to_numpy()
    return np.array(
        [[all_metrics(y, train(train_df, replace(config, seed=s)).predict(rows), c)[m] for m in METRICS] for s in seeds]
    )


@dataclass
class BacktestResult:
    cut: date
    scores: pd.DataFrame  # household_id, campaign_id, score (the model under test)
    metrics: dict[str, dict[str, float]]  # model name -> metrics on the fully observed rows
    vs_logistic: dict[str, dict[str, Interval]]  # model name -> metric -> its value minus the logistic's
    vs_rule: dict[str, Interval]  # metric -> the model's value minus the v0 rule's
    evaluated_campaigns: list[int]
    train_rows: int


def backtest(
    examples: pd.DataFrame,
    cut: date,
    config: TrainConfig,
    *,
    families: tuple[str, ...] = (),
    prior_strength: float = 5.0,
    n_boot: int = 300,
) -> BacktestResult:
    train_df = training_rows(examples, cut)
    if train_df.empty:
        raise ValueError(f"no campaign ended before {cut}: pick a later cut")
    scored = scored_rows(examples, cut)
    if scored.empty:
        raise ValueError(f"no campaign starts on or after {cut} in the lake: pick an earlier cut")
    evaluated = evaluated_rows(scored)

    models = {"model": config} | {f: replace(config, family=f) for f in families if f != config.family}
    models["logistic"] = replace(config, family="logistic")
    scores: dict[str, np.ndarray] = {}
    for name, cfg in models.items():
        scores[name] = train(train_df, cfg).predict(scored)
    scores["v0_rule"] = v0_scorer(prior_strength).predict(scored)
    scores["random"] = np.random.default_rng(0).random(len(scored))

    mask = scored.index.isin(evaluated.index)
    metrics, vs, vs_rule = compare_scores(evaluated, {name: s[mask] for name, s in scores.items()}, n_boot=n_boot)
    out = scored[["household_id", "campaign_id"]].assign(score=scores["model"])
    return BacktestResult(
        cut, out, metrics, vs, vs_rule, sorted(int(c) for c in evaluated["campaign_id"].unique()), len(train_df)
    )


def compare_scores(
    rows: pd.DataFrame,
    scores: dict[str, np.ndarray],
    *,
    n_boot: int = 300,
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, Interval]], dict[str, Interval]]:
    """Metrics of each named score on the same labelled rows, every one's difference from the
    ``logistic`` and the ``model``'s from the ``v0_rule``, with household-cluster intervals."""
    y, camp, hh = (rows[c].to_numpy() for c in ("label", "campaign_id", "household_id"))
    metrics = {name: all_metrics(y, s, camp) for name, s in scores.items()}
    vs = {
        name: bootstrap_differences(METRICS, y, scores["logistic"], s, camp, hh, n_boot=n_boot)
        for name, s in scores.items()
        if name != "logistic"
    }
    vs_rule = bootstrap_differences(METRICS, y, scores["v0_rule"], scores["model"], camp, hh, n_boot=n_boot)
    return metrics, vs, vs_rule


def better(metric: str, diff: Interval) -> Interval:
    """A difference turned so that positive means better (log loss: lower is better)."""
    return diff.negated() if metric in LOWER_IS_BETTER else diff


@dataclass(frozen=True)
class QualityBar:
    """The benchmark's bar, read two ways: on point estimates and against the intervals."""

    behind_logistic: list[str]  # metrics where the model's point estimate is worse than the logistic's
    worse_than_logistic: list[str]  # ... and its whole interval is on the worse side
    not_clearly_above_rule: list[str]  # metrics where the model's interval against v0 reaches zero

    @property
    def as_good_as_logistic(self) -> bool:
        """No metric on which the model is worse than the logistic beyond the interval."""
        return not self.worse_than_logistic

    @property
    def met(self) -> bool:
        return self.as_good_as_logistic and not self.not_clearly_above_rule


def quality_bar(result: BacktestResult) -> QualityBar:
    vs_log = {m: better(m, d) for m, d in result.vs_logistic["model"].items()}
    vs_rule = {m: better(m, d) for m, d in result.vs_rule.items()}
    return QualityBar(
        [m for m, d in vs_log.items() if d.value < 0],
        [m for m, d in vs_log.items() if d.high < 0],
        [m for m, d in vs_rule.items() if d.low <= 0],
    )


def format_table(result: BacktestResult) -> str:
    cols = list(METRICS)
    lines = [
        f"backtest at cut {result.cut}: trained on {result.train_rows} rows (campaigns ended before the cut); "
        f"evaluated on campaigns {result.evaluated_campaigns}",
        f"{'model':<12}" + "".join(f"{c:>{len(c) + 2}}" for c in cols),
    ]
    for name, m in result.metrics.items():
        lines.append(f"{name:<12}" + "".join(f"{m[c]:>{len(c) + 2}.4f}" for c in cols))

    def cell(d: Interval) -> str:
        return f"{d.value:+.4f} [{d.low:+.4f},{d.high:+.4f}]"

    width = 27
    lines += [
        "",
        "difference from the logistic regression, with 90% household-cluster bootstrap intervals "
        "(log loss: lower is better)",
        f"{'model':<12}" + "".join(f"{c:>{width}}" for c in cols),
    ]
    for name, diffs in result.vs_logistic.items():
        lines.append(f"{name:<12}" + "".join(f"{cell(diffs[c]):>{width}}" for c in cols))
    lines.append(f"{'model - v0':<12}" + "".join(f"{cell(result.vs_rule[c]):>{width}}" for c in cols))

    bar, positives = quality_bar(result), result.metrics["model"]["positives"]

    def behind(m: str) -> str:
        d = result.vs_logistic["model"][m]
        extra = f", {abs(d.value) * positives:.0f} of {positives:.0f} redeemers" if m.startswith("capture") else ""
        return f"{m} ({d.value:+.4f}{extra})"

    if not bar.behind_logistic:
        verdict = "yes, on every point estimate"
    else:
        verdict = (
            ("yes within the intervals: " if bar.as_good_as_logistic else "no: ")
            + "behind on "
            + ", ".join(behind(m) for m in bar.behind_logistic)
        )
        verdict += (
            "; worse beyond the interval on " + ", ".join(bar.worse_than_logistic)
            if bar.worse_than_logistic
            else "; no interval lies wholly on the worse side"
        )
    lines.append("bar, at least as good as the logistic regression on every metric: " + verdict)
    lines.append(
        "bar, clearly better than the past-redemption-rate rule (v0) on every metric: "
        + (
            "yes, every interval excludes zero"
            if not bar.not_clearly_above_rule
            else "no: the interval reaches zero on " + ", ".join(bar.not_clearly_above_rule)
        )
    )
    return "\n".join(lines)
