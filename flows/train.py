"""The train flow: a challenger is trained, compared with the champion, promoted or not.

On demand (``couponflow train``) and on a schedule (``couponflow serve`` registers it with
the settings' ``train_cron``). Reads the training_examples mart the daily flow keeps built.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from couponflow.app.decision_inputs import load_training_examples
from couponflow.app.history_inputs import load_scorer, scoring_columns, with_history_features
from couponflow.platform.config import Settings
from couponflow.platform.resources import Resources, build_resources
from couponflow.platform.version import code_version
from couponflow.platform.warehouse import WarehouseError
from flows.alerts import alert_on_failure
from flows.lake_limit import one_run_per_lake
from flows.recording import new_record, recorded
from models.lifecycle import TrainOutcome, train_challenger
from models.promotion import PromotionRule
from models.registry import Registry
from models.training import TrainConfig


@task(name="load-training-examples", cache_policy=NONE)
def load_examples(res: Resources, config: TrainConfig) -> tuple[pd.DataFrame, set[str]]:
    """The training examples, and the columns a day's candidates are scored with under ``config``
    (scoring_candidates, plus the history features when the history marts hold them)."""
    try:
        with res.warehouse.session():
            examples = load_training_examples(res.warehouse)
            columns = scoring_columns(res.warehouse, config)
    except Exception as exc:  # noqa: BLE001 - a missing warehouse or mart
        raise WarehouseError(
            f"cannot read the training examples ({exc}): run `couponflow daily` first to land and build"
        ) from None
    return examples, columns


@task(name="train-and-compare", cache_policy=NONE)
def train_and_compare(res: Resources, examples: pd.DataFrame, columns: set[str], config: TrainConfig) -> TrainOutcome:
    outcome = challenge(res, examples, columns, config)
    get_run_logger().info("%s %s: %s", outcome.version, "promoted" if outcome.promoted else "kept out", outcome.reason)
    return outcome


def challenge(res: Resources, examples: pd.DataFrame, columns: set[str], config: TrainConfig) -> TrainOutcome:
    """Train ``config``'s challenger on ``examples`` (with the history features it needs), compare
    it with the champion (scored with the history features its own model needs) on the hold-out,
    promote or keep; ``columns``: what a day's candidates are scored with (``load_examples``)."""
    settings = res.settings
    registry = Registry(res.store)
    with res.warehouse.session():  # the history features (affinity, weekly sequences) the family needs
        examples = with_history_features(res.warehouse, examples, config)
    rule = replace(PromotionRule(), min_gain=settings.promotion_min_gain, level=settings.promotion_level)
    return train_challenger(
        examples,
        registry,
        config,
        rule,
        min_holdout_positives=settings.min_holdout_positives,
        prior_strength=settings.prior_strength,
        mart_columns=columns,
        code_version=code_version(),
        champion=load_scorer(res.warehouse, registry, registry.champion(), settings.prior_strength),
    )


def challenger_config(settings: Settings, family: str | None, affinity: bool) -> TrainConfig:
    return TrainConfig(
        family=family or settings.model_family,
        seed=settings.train_seed,
        use_demographics=settings.use_demographics,
        affinity=affinity,
    )


@flow(name="train", log_prints=True, on_failure=[alert_on_failure])
def train(family: str | None = None, affinity: bool = False) -> dict[str, Any]:
    res = build_resources()
    with one_run_per_lake(res, "train"):
        record = new_record("train", {"family": family or res.settings.model_family, "affinity": affinity})
        with recorded(res, record):
            config = challenger_config(res.settings, family, affinity)
            with record.stage("load"):
                examples, columns = load_examples(res, config)
            with record.stage("train"):
                outcome = train_and_compare(res, examples, columns, config)
        record.outputs = {
            "version": outcome.version,
            "promoted": outcome.promoted,
            "champion": outcome.champion,
            "reason": outcome.reason,
        }
        record.finish(res.store, "success")
        return {**record.outputs, "run_id": record.run_id, "stages": record.stages}
