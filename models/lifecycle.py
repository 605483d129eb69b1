"""Train a challenger, compare it with the champion on the same hold-out, promote or keep.

Plain function over the training examples (the ``training_examples`` mart as a DataFrame) and
the registry; the Prefect ``train`` flow only calls it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from models.promotion import PromotionRule, decide, select_holdout
from models.registry import Registry
from models.scoring import load_scorer
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
) -> TrainOutcome:
    holdout_ids = select_holdout(examples, min_holdout_positives)
    holdout = examples[examples["campaign_id"].isin(holdout_ids)]
    train_rows = training_window(examples, holdout_ids)
    model = train(train_rows, config)

    champion = load_scorer(registry, registry.champion(), prior_strength)
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
    version = registry.register(model, card)
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
