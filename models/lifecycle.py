"""Train a challenger, compare it with the champion on the same hold-out, promote or keep.

Plain function over the training examples (the ``training_examples`` mart as a DataFrame) and
the registry; the Prefect ``train`` flow only calls it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from models.drift import Profile, profile_frame
from models.features import NUMERIC_FEATURES
from models.promotion import PromotionRule, decide, select_holdout
from models.registry import V0, Registry
from models.scoring import Scorer, load_scorer, v0_scorer
from models.training import TrainConfig, train


@dataclass
class TrainOutcome:
    version: str
    promoted: bool
    champion: str
    reason: str
    decision: dict[str, Any]


def training_window(examples: pd.DataFrame, holdout: list[int]) -> pd.DataFrame:
    """Fully observed campaigns that ended before the first hold-out campaign started."""
    first_start = examples.loc[examples["campaign_id"].isin(holdout), "as_of_date"].min()
    final = examples[examples["label_is_final"] & ~examples["is_censored"]]
    return final[(final["end_date"] < first_start) & ~final["campaign_id"].isin(holdout)]


def training_profile(rows: pd.DataFrame, score: np.ndarray, source: dict[str, Any]) -> Profile:
    """The drift profile of a model's training rows: every numeric feature of the marts that the
    rows hold, and the model's score of them (``models.drift``)."""
    return profile_frame(rows, [c for c in NUMERIC_FEATURES if c in rows.columns], score=score, source=source)


def v0_window(examples: pd.DataFrame, run_date: date) -> pd.DataFrame:
    """The training data of the rule v0 as of ``run_date``: the fully observed examples of the
    campaigns that ended before it (the window a model trained that day could use). Their
    features are as of each campaign's start, so the window is the same whatever landed later."""
    ts = pd.Timestamp(run_date)
    final = examples[examples["label_is_final"].astype(bool) & ~examples["is_censored"].astype(bool)]
    return final[pd.to_datetime(final["end_date"]) < ts]


def v0_profile(examples: pd.DataFrame, run_date: date, prior_strength: float) -> Profile | None:
    """The profile v0 is measured against on ``run_date`` (None: no campaign has closed yet)."""
    window = v0_window(examples, run_date)
    if window.empty:
        return None
    source = {
        "version": V0,
        "window": "marts.training_examples of campaigns ended before the run date",
        "campaigns": sorted(int(c) for c in window["campaign_id"].unique()),
    }
    return training_profile(window, v0_scorer(prior_strength).predict(window), source)


def train_challenger(
    examples: pd.DataFrame,
    registry: Registry,
    config: TrainConfig,
    rule: PromotionRule,
    *,
    min_holdout_positives: int,
    prior_strength: float,
    mart_columns: set[str],
    code_version: str,
    champion: Scorer | None = None,
) -> TrainOutcome:
    """``champion``: the champion's scorer, when the caller builds it (one whose model needs the
    history's features adds them itself, ``couponflow.app.history_inputs.load_scorer``); else it is
    loaded from the registry and must score the examples' own columns."""
    holdout_ids = select_holdout(examples, min_holdout_positives)
    holdout = examples[examples["campaign_id"].isin(holdout_ids)]
    train_rows = training_window(examples, holdout_ids)
    model = train(train_rows, config)

    champion = champion or load_scorer(registry, registry.champion(), prior_strength)
    p_champ = champion.predict(holdout)
    p_chall = model.predict(holdout)
    d = decide(
        holdout["label"].to_numpy(),
        holdout["campaign_id"].to_numpy(),
        holdout["household_id"].to_numpy(),
        p_champ,
        p_chall,
        rule,
        features=model.features,
        mart_columns=mart_columns,
        holdout_campaigns=holdout_ids,
    )
    card = {
        "code_version": code_version,
        "holdout_campaigns": holdout_ids,
        "holdout_metrics": d.challenger,
        "compared_with": champion.version,
        "train_campaigns": model.info["train_campaigns"],
    }
    profile = training_profile(
        train_rows,
        model.predict(train_rows),
        {"window": model.info.get("train_window"), "campaigns": model.info.get("train_campaigns")},
    )
    version = registry.register(model, card, profile.to_dict())
    registry.record(
        {
            "action": "promote" if d.promote else "keep",
            "version": version,
            "challenger": version,
            "champion": champion.version,
            "reason": d.reason,
            "comparison": d.to_dict(),
        }
    )
    return TrainOutcome(version, d.promote, registry.champion(), d.reason, d.to_dict())
