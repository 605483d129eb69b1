"""What the model's embeddings and sequences read from the warehouse: the households' daily
history by product category and the categories of each campaign's coupon products
(``models.history.History``; the model cuts the history at each as-of date itself).

Training reads the whole history once and cuts it at every example's as-of date
(:func:`with_history_features`). Scoring reads, for each date it scores, only the rows that
date's features need, cut in SQL before the date (:func:`history_as_of`): every row before it
for the affinity (its spend matrix sums the whole past), the last ``models.sequences.WEEKS``
weeks before it for the sequences alone. The features are the same functions of the same rows
either way, so a candidate scored on day D gets exactly the features a training example as of
D would (tests/integration/test_history_scoring.py checks it bit for bit). A scorer from
:func:`load_scorer` adds them itself, so every caller that scores candidates or examples with a
champion (the decision, the replay, the report's off-policy target, the promotion's champion)
gives a model that needs the history its features.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pandas as pd

from couponflow.platform.warehouse import Warehouse
from models import scoring
from models.affinity import FEATURES as AFFINITY_FEATURES
from models.affinity import features_as_of, with_affinity
from models.history import COLUMNS as HISTORY_COLUMNS
from models.history import History
from models.registry import Registry
from models.sequences import COLUMNS as SEQUENCE_COLUMNS
from models.sequences import WEEKS, sequences_as_of, with_sequences
from models.training import TrainConfig

# one canonical order: the codes and sums built from it must not depend on scan order
HISTORY_ORDER = "order by household_id, transaction_date, product_category, department_group"
CATEGORIES_SQL = "select * from marts.campaign_categories order by campaign_id, product_category"
EPOCH = date(1900, 1, 1)


def load_history(wh: Warehouse) -> History:
    return History(wh.query(f"select * from marts.household_category_days {HISTORY_ORDER}"), wh.query(CATEGORIES_SQL))


def needs_sequences(config: TrainConfig) -> bool:
    return any(f == "gru" for f, _ in config.members())


def needs_history(config: TrainConfig) -> bool:
    """Whether a configuration's features include the history's (affinity, weekly sequences)."""
    return config.affinity or needs_sequences(config)


def history_columns(config: TrainConfig) -> list[str]:
    """The feature columns the history adds for ``config`` (none for a configuration without it)."""
    return (list(AFFINITY_FEATURES) if config.affinity else []) + (
        list(SEQUENCE_COLUMNS) if needs_sequences(config) else []
    )


def with_history_features(wh: Warehouse, examples: pd.DataFrame, config: TrainConfig) -> pd.DataFrame:
    """``examples`` with the history features ``config`` needs, each row's as of its own date;
    unchanged (and the history not read) when it needs none."""
    if not needs_history(config):
        return examples
    history = load_history(wh)
    if config.affinity:
        examples = with_affinity(examples, history, config.affinity_k)
    if needs_sequences(config):
        examples = with_sequences(examples, history)
    return examples


def history_as_of(wh: Warehouse, as_of: date, config: TrainConfig) -> History:
    """The history rows ``config``'s features as of ``as_of`` read, and nothing dated ``as_of`` or
    later: for the affinity every earlier row, for the sequences alone the last WEEKS weeks (the
    day WEEKS * 7 days before ``as_of`` is the oldest a sequence holds)."""
    first = EPOCH if config.affinity else as_of - timedelta(days=7 * WEEKS)
    days = wh.query(
        "select * from marts.household_category_days where transaction_date >= ? and transaction_date < ? "
        + HISTORY_ORDER,
        [first, as_of],
    )
    return History(days, wh.query(CATEGORIES_SQL))


def with_history_as_of(
    wh: Warehouse, rows: pd.DataFrame, config: TrainConfig, date_column: str = "run_date"
) -> pd.DataFrame:
    """``rows`` (household_id, campaign_id, ``date_column``) with the history features ``config``
    needs, each date's built from :func:`history_as_of` of that date; unchanged when it needs none."""
    added = history_columns(config)
    if not added:
        return rows
    if date_column not in rows.columns:
        raise ValueError(f"rows to score lack {date_column!r}: the history features are built as of each row's date")
    parts = []
    for as_of, group in rows.groupby(date_column, sort=True):
        day = pd.Timestamp(as_of).date()
        history = history_as_of(wh, day, config)
        feats = []
        if config.affinity:
            feats.append(features_as_of(group, history, day, config.affinity_k))
        if needs_sequences(config):
            feats.append(sequences_as_of(group, history, day))
        parts.append(pd.concat(feats, axis=1))
    built = pd.concat(parts).reindex(rows.index) if parts else pd.DataFrame(np.nan, index=rows.index, columns=added)
    return pd.concat([rows.drop(columns=[c for c in added if c in rows.columns]), built[added]], axis=1)


def scoring_columns(wh: Warehouse, config: TrainConfig) -> set[str]:
    """The columns a day's candidates are scored with under ``config``: today's scoring_candidates,
    plus the history features when the history marts hold what they are built from (the promotion
    rule refuses a challenger whose features are not all here)."""
    columns = set(wh.query("select * from marts.scoring_candidates limit 0").columns)
    if not needs_history(config):
        return columns
    try:
        days = set(wh.query("select * from marts.household_category_days limit 0").columns)
        categories = set(wh.query("select * from marts.campaign_categories limit 0").columns)
    except Exception:  # noqa: BLE001 - a warehouse built before the history marts: the features are missing
        return columns
    if set(HISTORY_COLUMNS) <= days and {"campaign_id", "product_category", "n_products"} <= categories:
        columns |= set(history_columns(config))
    return columns


def load_scorer(wh: Warehouse, registry: Registry, version: str, prior_strength: float) -> scoring.Scorer:
    """``models.scoring.load_scorer``, whose predict first adds the history features the version
    needs, each row's as of its own date (``as_of_date`` for examples, ``run_date`` for candidates)."""
    scorer = scoring.load_scorer(registry, version, prior_strength)
    if scorer.kind != "torch":
        return scorer
    config = TrainConfig.from_dict(scorer.card["config"])
    if not needs_history(config):
        return scorer
    model_predict = scorer.predict

    def predict(df: pd.DataFrame) -> np.ndarray:
        column = "as_of_date" if "as_of_date" in df.columns else "run_date"
        with wh.session():
            return model_predict(with_history_as_of(wh, df, config, column))

    return replace(scorer, predict=predict)
