"""Backtest at a cut date: train on what was known before it, score what came after.

Training rows: campaigns that ended before the cut (so their labels, redemptions dated in their
window, are all dated before the cut) and therefore also started before it. Scored rows: every
recipient of every campaign starting on or after the cut, with features as of that campaign's
start. Compared on the same rows with simple baselines: random scores, the smoothed past
redemption rate (v0) and a logistic regression, three ways (``models.observed_window``):

* on the fully observed campaigns (final labels): the quality bar's figures;
* pooled over every campaign after the cut that has something observed, the partly observed
  ones on their observed window (label: redeemed by the last landed day; score: p x F(share)),
  so that a campaign is never dropped nor a censored pair counted as a negative of its window;
* on the partly observed campaigns alone, shown apart;

and campaign by campaign (each one's ROC AUC, and their mean).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
import pandas as pd

from models.evaluation import LOWER_IS_BETTER, METRICS, all_metrics, bootstrap_differences, roc_auc
from models.interval import Interval
from models.observed_window import (
    FULL,
    PARTIAL,
    RedemptionTiming,
    campaign_groups,
    observed_rows,
    observed_window_scores,
)
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
class GroupComparison:
    """Every model's metrics on one group of campaigns, and each one's difference from the logistic."""

    campaigns: list[int]
    metrics: dict[str, dict[str, float]]
    vs_logistic: dict[str, dict[str, Interval]]


@dataclass
class BacktestResult:
    cut: date
    scores: pd.DataFrame  # household_id, campaign_id, score (the model under test)
    metrics: dict[str, dict[str, float]]  # model name -> metrics on the fully observed rows
    vs_logistic: dict[str, dict[str, Interval]]  # model name -> metric -> its value minus the logistic's
    vs_rule: dict[str, Interval]  # metric -> the model's value minus the v0 rule's
    evaluated_campaigns: list[int]
    train_rows: int
    pooled: GroupComparison | None = None  # every observed campaign, partly observed on their observed window
    partial: GroupComparison | None = None  # the partly observed campaigns alone
    per_campaign: pd.DataFrame | None = None  # one row per campaign after the cut (see per_campaign_table)
    unobserved_campaigns: list[int] = field(default_factory=list)  # nothing of their window has landed


def backtest(
    examples: pd.DataFrame,
    cut: date,
    config: TrainConfig,
    *,
    families: tuple[str, ...] = (),
    variants: dict[str, TrainConfig] | None = None,
    prior_strength: float = 5.0,
    n_boot: int = 300,
) -> BacktestResult:
    """``families``: other families trained like ``config``; ``variants``: further named
    configurations (e.g. with the affinity features); all are scored on the same rows."""
    train_df = training_rows(examples, cut)
    if train_df.empty:
        raise ValueError(f"no campaign ended before {cut}: pick a later cut")
    scored = scored_rows(examples, cut)
    if scored.empty:
        raise ValueError(f"no campaign starts on or after {cut} in the lake: pick an earlier cut")
    evaluated = evaluated_rows(scored)

    models = {"model": config} | {f: replace(config, family=f) for f in families if f != config.family}
    models |= variants or {}
    models["logistic"] = replace(config, family="logistic")
    scores: dict[str, np.ndarray] = {}
    for name, cfg in models.items():
        scores[name] = train(train_df, cfg).predict(scored)
    scores["v0_rule"] = v0_scorer(prior_strength).predict(scored)
    scores["random"] = np.random.default_rng(0).random(len(scored))

    mask = scored.index.isin(evaluated.index)
    metrics, vs, vs_rule = compare_scores(evaluated, {name: s[mask] for name, s in scores.items()}, n_boot=n_boot)
    out = scored[["household_id", "campaign_id"]].assign(score=scores["model"])
    pooled, partial, per_campaign = observed_comparisons(scored, scores, RedemptionTiming.fit(train_df), n_boot=n_boot)
    groups = campaign_groups(scored)
    return BacktestResult(
        cut,
        out,
        metrics,
        vs,
        vs_rule,
        sorted(int(c) for c in evaluated["campaign_id"].unique()),
        len(train_df),
        pooled,
        partial,
        per_campaign,
        sorted(c for c, g in groups.items() if g not in (FULL, PARTIAL)),
    )


def observed_comparisons(
    scored: pd.DataFrame, scores: dict[str, np.ndarray], timing: RedemptionTiming, *, n_boot: int = 300
) -> tuple[GroupComparison | None, GroupComparison | None, pd.DataFrame]:
    """The pooled comparison over every observed campaign after the cut, the partly observed
    campaigns' comparison alone, and the per-campaign table; ``scores`` are aligned with
    ``scored``'s rows (the model's probabilities of redeeming within the whole window)."""
    rows = observed_rows(scored)
    pos = scored.index.get_indexer(rows.index)
    adjusted = {name: observed_window_scores(rows, s[pos], timing) for name, s in scores.items()}
    rows = rows.reset_index(drop=True)
    groups = campaign_groups(scored)

    def comparison(keep: np.ndarray) -> GroupComparison | None:
        if not keep.any():
            return None
        sub = rows[keep].reset_index(drop=True)
        metrics, vs, _ = compare_scores(sub, {n: s[keep] for n, s in adjusted.items()}, n_boot=n_boot)
        return GroupComparison(sorted(int(c) for c in sub["campaign_id"].unique()), metrics, vs)

    is_partial = (rows["campaign_id"].map(groups) == PARTIAL).to_numpy()
    pooled = comparison(np.ones(len(rows), bool))
    partial = comparison(is_partial)
    return pooled, partial, per_campaign_table(scored, rows, adjusted, groups)


def per_campaign_table(
    scored: pd.DataFrame, rows: pd.DataFrame, scores: dict[str, np.ndarray], groups: dict[int, str]
) -> pd.DataFrame:
    """One row per campaign after the cut: its group, type, start, observed share, pairs,
    redeemers observed, and each model's ROC AUC within it (NaN where it has no redeemer or
    nothing observed)."""
    info = scored.groupby("campaign_id").agg(
        campaign_type=("campaign_type", "first"),
        start=("as_of_date", "first"),
        observed_share=("label_observed_share", "min"),
        pairs=("household_id", "size"),
    )
    info["group"] = [groups[int(c)] for c in info.index]
    y, camp = rows["label"].to_numpy(), rows["campaign_id"].to_numpy()
    info["redeemers"] = [int(y[camp == c].sum()) for c in info.index]
    for name, s in scores.items():
        info[name] = [roc_auc(y[camp == c], s[camp == c]) if (camp == c).any() else np.nan for c in info.index]
    return info.reset_index()


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


NAME = 16  # width of the model-name column


def format_table(result: BacktestResult) -> str:
    cols = list(METRICS)
    lines = [
        f"backtest at cut {result.cut}: trained on {result.train_rows} rows (campaigns ended before the cut); "
        f"evaluated on campaigns {result.evaluated_campaigns}",
        f"{'model':<{NAME}}" + "".join(f"{c:>{len(c) + 2}}" for c in cols),
    ]
    for name, m in result.metrics.items():
        lines.append(f"{name:<{NAME}}" + "".join(f"{m[c]:>{len(c) + 2}.4f}" for c in cols))

    def cell(d: Interval) -> str:
        return f"{d.value:+.4f} [{d.low:+.4f},{d.high:+.4f}]"

    width = 27
    lines += [
        "",
        "difference from the logistic regression, with 90% household-cluster bootstrap intervals "
        "(log loss: lower is better)",
        f"{'model':<{NAME}}" + "".join(f"{c:>{width}}" for c in cols),
    ]
    for name, diffs in result.vs_logistic.items():
        lines.append(f"{name:<{NAME}}" + "".join(f"{cell(diffs[c]):>{width}}" for c in cols))
    lines.append(f"{'model - v0':<{NAME}}" + "".join(f"{cell(result.vs_rule[c]):>{width}}" for c in cols))

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
    return "\n".join(lines + observed_sections(result))


def _cell(d: Interval) -> str:
    return f"{d.value:+.4f} [{d.low:+.4f},{d.high:+.4f}]"


def _group_lines(title: str, g: GroupComparison) -> list[str]:
    cols, width = list(METRICS), 27
    header = f"{'model':<{NAME}}" + "".join(f"{c:>{len(c) + 2}}" for c in cols)
    lines = ["", f"{title}: campaigns {g.campaigns}", header]
    for name, m in g.metrics.items():
        lines.append(f"{name:<{NAME}}" + "".join(f"{m[c]:>{len(c) + 2}.4f}" for c in cols))
    lines.append(f"{'minus logistic':<{NAME}}" + "".join(f"{c:>{width}}" for c in cols))
    for name, diffs in g.vs_logistic.items():
        lines.append(f"{name:<{NAME}}" + "".join(f"{_cell(diffs[c]):>{width}}" for c in cols))
    return lines


def observed_sections(result: BacktestResult) -> list[str]:
    """The pooled comparison over every observed campaign after the cut, the partly observed
    campaigns apart, and the per-campaign table."""
    lines: list[str] = []
    if result.pooled is not None:
        lines += _group_lines(
            "pooled over every campaign after the cut with something observed (partly observed ones on their "
            "observed window: label = redeemed by the last landed day, score = p x F(observed share))",
            result.pooled,
        )
    if result.partial is not None:
        lines += _group_lines("partly observed campaigns alone (observed window)", result.partial)
    if result.unobserved_campaigns:
        lines.append(f"not yet observed (nothing of the window landed), not evaluated: {result.unobserved_campaigns}")
    t = result.per_campaign
    if t is not None and not t.empty:
        models = [c for c in t.columns if c in result.metrics]
        lines += [
            "",
            "per campaign: ROC AUC within each campaign (partly observed: on the observed window)",
            f"{'campaign':>8} {'type':<7} {'start':<10} {'group':<16}{'share':>6}{'pairs':>6}{'redeem':>7}"
            + "".join(f"{m:>{max(len(m), 6) + 2}}" for m in models),
        ]
        for _, r in t.iterrows():
            lines.append(
                f"{int(r['campaign_id']):>8} {str(r['campaign_type']).replace('Type ', ''):<7} "
                f"{str(r['start'])[:10]:<10} {r['group']:<16}{r['observed_share']:>6.2f}{int(r['pairs']):>6}"
                f"{int(r['redeemers']):>7}" + "".join(f"{r[m]:>{max(len(m), 6) + 2}.4f}" for m in models)
            )
        lines.append(
            f"{'mean over campaigns with a redeemer (unweighted)':<63}"
            + "".join(f"{t[m].mean():>{max(len(m), 6) + 2}.4f}" for m in models)
        )
    return lines
