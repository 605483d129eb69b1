"""The promotion rule, one rule at a time: each case below is built so that only the rule it names
can keep the challenger out (or let it in), and it fails when that rule is removed or its
comparison loosened. Scores are synthetic with a known truth; no network is trained here."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from models import lifecycle
from models.drift import SCORE, Profile, profile_frame
from models.evaluation import all_metrics, auc_within_campaign, bootstrap_difference, calibration_ratio, log_loss
from models.features import NUMERIC_FEATURES
from models.promotion import PromotionRule, decide, sanity_problems, select_holdout
from models.registry import V0
from models.training import TrainConfig
from tests.model.synthetic import make_examples, true_probability


def _holdout(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.random.Generator]:
    """One campaign's hold-out (as on this data): labels drawn from a known probability, one row per household."""
    rng = np.random.default_rng(seed)
    p = 1 / (1 + np.exp(-(-1.8 + 1.2 * rng.normal(size=n))))
    y = (rng.random(n) < p).astype(int)
    return y, np.ones(n, dtype=int), np.arange(n), p, rng


def _noisy(p: np.ndarray, sd: float, rng: np.random.Generator) -> np.ndarray:
    return np.clip(p + rng.normal(0, sd, len(p)), 0.01, 0.99)


def _facts(y, campaign, household, champion, challenger, rule: PromotionRule) -> dict[str, float]:
    """What the rule looks at, computed here independently of ``decide``."""
    gain = bootstrap_difference(
        auc_within_campaign, y, champion, challenger, campaign, household, n_boot=rule.n_boot, level=rule.level
    )
    return {
        "mean": gain.value,
        "low": gain.low,
        "high": gain.high,
        "worse_log_loss": log_loss(y, challenger) - log_loss(y, champion),
        "calibration": calibration_ratio(y, challenger),
    }


def _facts_of(d, y: np.ndarray, challenger: np.ndarray) -> dict[str, float]:
    """The same facts read off a decision (one bootstrap less: the first test pins them to ``_facts``)."""
    return {
        **d.auc_gain,
        "worse_log_loss": d.challenger["log_loss"] - d.champion["log_loss"],
        "calibration": calibration_ratio(y, challenger),
    }


def _decide(y, campaign, household, champion, challenger, rule: PromotionRule | None = None, **kwargs):
    kwargs.setdefault("features", ["aff_spend_all"])
    kwargs.setdefault("mart_columns", {"aff_spend_all"})
    return decide(y, campaign, household, champion, challenger, rule or PromotionRule(), **kwargs)


def _sane_for(rule: PromotionRule, facts: dict[str, float]) -> bool:
    return rule.calibration_low <= facts["calibration"] <= rule.calibration_high


def test_the_rule_is_the_documented_one():
    """DESIGN's rule: gain >= 0.01 in within-campaign AUC, a 90% interval, log loss at most 0.02
    worse, predicted/observed redemptions within 0.5-2, 300 household-cluster resamples."""
    r = PromotionRule()
    assert (r.min_gain, r.level, r.max_log_loss_increase, r.calibration_low, r.calibration_high, r.n_boot) == (
        0.01,
        0.90,
        0.02,
        0.5,
        2.0,
        300,
    )


# -- the comparison ---------------------------------------------------------------------------


def test_a_clearly_better_sane_challenger_is_promoted_on_the_rule_s_own_interval():
    y, c, h, p, rng = _holdout(1500, 0)
    champion = _noisy(p, 0.25, rng)
    rule = PromotionRule(level=0.8, n_boot=120)  # not the defaults: the decision must use the rule's
    facts = _facts(y, c, h, champion, p, rule)
    d = _decide(y, c, h, champion, p, rule, holdout_campaigns=[7])
    assert d.promote and d.problems == [] and d.holdout_campaigns == [7]
    assert d.auc_gain == {"mean": facts["mean"], "low": facts["low"], "high": facts["high"]}
    assert d.champion == all_metrics(y, champion, c) and d.challenger == all_metrics(y, p, c)
    assert f"gain {facts['mean']:+.4f}, 80% interval [{facts['low']:+.4f}, {facts['high']:+.4f}]" in d.reason
    assert f"AUC within campaign {d.challenger['auc_within_campaign']:.4f} vs " in d.reason


def test_a_gain_above_the_margin_whose_interval_includes_zero_is_not_promoted():
    """300 households: the challenger's mean gain clears 0.01 but the 90% interval reaches below 0."""
    y, c, h, p, rng = _holdout(300, 2)
    champion, challenger = _noisy(p, 0.12, rng), _noisy(p, 0.09, rng)
    d = _decide(y, c, h, champion, challenger, holdout_campaigns=[3])
    facts = _facts_of(d, y, challenger)
    assert facts["mean"] >= 0.01 and facts["low"] <= 0 < facts["high"]  # only the interval says no
    assert facts["worse_log_loss"] <= 0.02 and _sane_for(PromotionRule(), facts)
    assert d.promote is False and d.holdout_campaigns == [3] and d.problems == []  # False, not just falsy: it is logged
    assert d.reason == (
        f"AUC gain {facts['mean']:+.4f} is not significant: 90% interval "
        f"[{facts['low']:+.4f}, {facts['high']:+.4f}] includes 0"
    )


def test_an_interval_whose_lower_end_is_exactly_zero_is_not_significant():
    """The challenger differs from the champion on one redeeming household only: every resample
    without it differs by exactly 0, so the interval's lower end is 0.0, which is not above 0."""
    y, c, h, p, rng = _holdout(1500, 0)
    champion = _noisy(p, 0.1, rng)
    challenger = champion.copy()
    challenger[np.flatnonzero(y == 1)[0]] = 0.99
    d = _decide(y, c, h, champion, challenger, PromotionRule(min_gain=0.0))
    facts = _facts_of(d, y, challenger)
    assert facts["low"] == 0.0 and facts["mean"] > 0 and facts["worse_log_loss"] <= 0.02
    assert not d.promote and "is not significant" in d.reason


def test_a_significant_gain_below_the_margin_is_not_promoted():
    """3000 households, a champion with 4% of its scores shuffled: a gain of 0.008 with its whole
    interval above 0, still short of the 0.01 the rule asks for."""
    y, c, h, p, rng = _holdout(3000, 0)
    champion = p.copy()
    shuffled = rng.random(len(p)) < 0.04
    champion[shuffled] = rng.permutation(p[shuffled])
    d = _decide(y, c, h, champion, p)
    facts = _facts_of(d, y, p)
    assert facts["low"] > 0 and facts["mean"] < 0.01 and facts["worse_log_loss"] <= 0.02
    assert not d.promote and d.reason == f"AUC gain {facts['mean']:+.4f} is below the margin 0.01"
    assert d.challenger == all_metrics(y, p, c)
    # a gain exactly at the margin is enough ("at least 0.01")
    at_margin = PromotionRule(min_gain=facts["mean"])
    assert _decide(y, c, h, champion, p, at_margin).promote


def _sharpened(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The truth's ranking with overconfident probabilities (p cubed, rescaled to the observed
    redemptions): AUC as good as the truth's, log loss much worse, calibration ratio near 0.8."""
    s = p**3
    return np.clip(s * y.sum() / s.sum(), 0, 1)


def test_a_better_ranking_with_a_much_worse_log_loss_is_not_promoted():
    y, c, h, p, rng = _holdout(1500, 0)
    champion, challenger = _noisy(p, 0.25, rng), _sharpened(y, p)
    d = _decide(y, c, h, champion, challenger)
    facts = _facts_of(d, y, challenger)
    assert facts["mean"] >= 0.01 and facts["low"] > 0 and _sane_for(PromotionRule(), facts)
    assert facts["worse_log_loss"] > 0.02  # only the log-loss guard says no
    assert not d.promote and d.reason == f"log loss worse by {facts['worse_log_loss']:.4f} (allowed 0.02)"
    # a log loss worse by exactly the allowance is allowed
    assert _decide(y, c, h, champion, challenger, PromotionRule(max_log_loss_increase=facts["worse_log_loss"])).promote


# -- the sanity checks ------------------------------------------------------------------------


@pytest.mark.parametrize("scale,side", [(0.45, "low"), (2.2, "high")])
def test_a_challenger_predicting_too_few_or_too_many_redemptions_is_not_sane(scale, side):
    y, c, h, p, rng = _holdout(1500, 0)
    champion = _noisy(p, 0.25, rng)
    challenger = np.clip(p * scale, 0, 1)
    ratio = calibration_ratio(y, challenger)
    assert (ratio < 0.5) if side == "low" else (ratio > 2.0)
    d = _decide(y, c, h, champion, challenger)
    assert d.promote is False and d.challenger == {} and d.auc_gain == {}
    assert d.champion == all_metrics(y, champion, c)  # the champion's side is still reported
    assert d.problems == [f"calibration off: predicts {ratio:.2f}x the observed redemptions (allowed 0.5-2.0)"]
    assert d.reason == "challenger is not sane: " + d.problems[0]
    # the allowed range is closed: a ratio exactly at its end is sane
    edge = PromotionRule(calibration_low=ratio) if side == "low" else PromotionRule(calibration_high=ratio)
    assert sanity_problems(challenger, y, edge, [], set()) == []


@pytest.mark.parametrize(
    "broken,problem",
    [
        (lambda p: np.where(np.arange(len(p)) == 3, np.inf, p), "scores contain NaN or infinite values"),
        (lambda p: np.where(np.arange(len(p)) == 3, np.nan, p), "scores contain NaN or infinite values"),
        (lambda p: np.where(np.arange(len(p)) == 3, 1.2, p), "scores are not probabilities in [0, 1]"),
        (lambda p: np.where(np.arange(len(p)) == 3, -0.1, p), "scores are not probabilities in [0, 1]"),
        (lambda p: np.full(len(p), 0.2), "scores are constant"),
    ],
)
def test_broken_scores_are_named_and_never_promoted(broken, problem):
    y, c, h, p, rng = _holdout(600, 0)
    d = _decide(y, c, h, _noisy(p, 0.25, rng), broken(p), holdout_campaigns=[5])
    assert not d.promote and d.problems == [problem] and d.holdout_campaigns == [5]
    assert d.reason == f"challenger is not sane: {problem}"


def test_every_problem_is_named_in_the_reason():
    y, c, h, p, rng = _holdout(600, 0)
    d = _decide(y, c, h, _noisy(p, 0.25, rng), np.where(np.arange(len(p)) == 3, np.nan, p), features=["gone"])
    assert d.reason == (
        "challenger is not sane: scores contain NaN or infinite values; features missing from today's marts: ['gone']"
    )


def test_scores_of_exactly_zero_and_one_are_probabilities():
    y, _, _, p, _ = _holdout(600, 0)
    scores = p.copy()
    scores[:5], scores[5:8] = 0.0, 1.0
    assert sanity_problems(scores, y, PromotionRule(), [], set()) == []


def test_features_missing_from_the_marts_are_listed_and_none_means_all_present():
    y, c, h, p, rng = _holdout(600, 0)
    champion = _noisy(p, 0.25, rng)
    d = _decide(y, c, h, champion, p, features=["b_gone", "a_gone", "kept"], mart_columns={"kept"})
    assert not d.promote and d.problems == ["features missing from today's marts: ['a_gone', 'b_gone']"]
    assert _decide(y, c, h, champion, p, features=["kept"], mart_columns=None).promote  # today's marts unknown


def test_integer_scores_are_checked_like_floats():
    y, c, h, p, rng = _holdout(600, 0)
    d = _decide(y, c, h, _noisy(p, 0.25, rng), (p > 0.5).astype(int) * 2)
    assert not d.promote and d.problems == ["scores are not probabilities in [0, 1]"]


# -- the hold-out -----------------------------------------------------------------------------


def _campaigns(rows: list[tuple[int, str, int, bool, bool]]) -> pd.DataFrame:
    """(campaign, end date, redeemers, fully observed, censored) -> 50 example rows per campaign."""
    frames = []
    for cid, end, positives, final, censored in rows:
        frames.append(
            pd.DataFrame(
                {
                    "campaign_id": cid,
                    "end_date": pd.Timestamp(end),
                    "label": (np.arange(50) < positives).astype(int),
                    "label_is_final": final,
                    "is_censored": censored,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


HOLDOUT_FIXTURE = [
    (1, "2017-03-10", 30, True, False),
    (2, "2017-03-20", 25, True, False),
    (3, "2017-03-30", 10, True, False),
    (4, "2017-03-30", 15, True, False),  # same end as 3, more redeemers: comes first
    (5, "2017-04-20", 45, False, False),  # still running: its labels are not final
    (6, "2017-04-25", 45, True, True),  # censored
]


@pytest.mark.parametrize(
    "min_positives,expected",
    [
        (1, [4]),
        (15, [4]),
        (16, [4, 3]),
        (25, [4, 3]),
        (26, [4, 3, 2]),
        (50, [4, 3, 2]),
        (51, [4, 3, 2, 1]),
    ],
)
def test_the_hold_out_is_the_most_recent_fully_observed_campaigns_with_enough_redeemers(min_positives, expected):
    assert select_holdout(_campaigns(HOLDOUT_FIXTURE), min_positives) == expected


def test_too_few_observed_redeemers_for_a_hold_out_is_an_error_that_says_so():
    with pytest.raises(ValueError, match=r"hold only 80 redeemers, fewer than the hold-out needs \(81, "):
        select_holdout(_campaigns(HOLDOUT_FIXTURE), 81)


class _Registry:
    """The registry calls train_challenger makes, in memory."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def champion(self) -> str:
        return V0

    def register(self, model: Any, card: dict[str, Any], profile: dict[str, Any] | None = None) -> str:
        self.card, self.profile = card, profile
        return "v1"

    def record(self, entry: dict[str, Any]) -> None:
        self.records.append(entry)


class _Model:
    """Stands in for a trained network: remembers what it was trained on and what it scored."""

    features: ClassVar[list[str]] = ["aff_spend_all", "coupon_lines_all"]

    def __init__(self, rows: pd.DataFrame) -> None:
        self.trained_on = rows
        self.info = {"train_campaigns": sorted(rows["campaign_id"].unique().tolist())}
        self.scored: list[pd.DataFrame] = []

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        self.scored.append(df)
        return true_probability(df)


def test_the_challenger_is_trained_only_on_campaigns_that_ended_before_the_hold_out_began(monkeypatch):
    examples = make_examples(n_campaigns=8, per_campaign=300, seed=3)
    holdout = select_holdout(examples, 60)
    first_start = examples.loc[examples["campaign_id"].isin(holdout), "as_of_date"].min()
    # one earlier campaign ends on the very day the hold-out starts: not "before" it, so left out
    touching = int(examples.loc[examples["end_date"] < first_start, "campaign_id"].max())
    examples.loc[examples["campaign_id"] == touching, "end_date"] = first_start
    trained: list[_Model] = []

    def fake_train(rows: pd.DataFrame, config: TrainConfig) -> _Model:
        trained.append(_Model(rows))
        return trained[-1]

    monkeypatch.setattr(lifecycle, "train", fake_train)
    registry = _Registry()
    outcome = lifecycle.train_challenger(
        examples,
        registry,
        TrainConfig(),
        PromotionRule(),
        min_holdout_positives=60,
        prior_strength=5.0,
        mart_columns=set(examples.columns),
        code_version="test",
    )
    (model,) = trained
    seen = set(model.trained_on["campaign_id"])
    assert seen and not seen & set(holdout) and touching not in seen
    assert (model.trained_on["end_date"] < first_start).all()
    assert seen == set(examples.loc[examples["end_date"] < first_start, "campaign_id"])  # and nothing else is lost
    # it is compared on exactly the hold-out's rows
    scored, profiled = model.scored
    assert (
        sorted(scored["campaign_id"].unique()) == sorted(holdout)
        and len(scored) == examples["campaign_id"].isin(holdout).sum()
    )
    assert outcome.decision["holdout_campaigns"] == holdout
    # its drift profile, stored with the version, is that of its training rows and their scores
    assert profiled is model.trained_on
    expected = profile_frame(model.trained_on, NUMERIC_FEATURES, score=true_probability(model.trained_on))
    assert registry.profile is not None and Profile.from_dict(registry.profile).features == expected.features
    assert registry.profile["rows"] == len(model.trained_on) and SCORE in registry.profile["features"]
