"""What the model's embeddings and sequences read from the warehouse: the households' daily
history by product category and the categories of each campaign's coupon products
(``models.history.History``; the model cuts the history at each as-of date itself)."""

from __future__ import annotations

import pandas as pd

from couponflow.platform.warehouse import Warehouse
from models.affinity import with_affinity
from models.history import History
from models.sequences import with_sequences
from models.training import TrainConfig

# one canonical order: the codes and sums built from it must not depend on scan order
HISTORY_ORDER = "order by household_id, transaction_date, product_category, department_group"


def load_history(wh: Warehouse) -> History:
    return History(
        wh.query(f"select * from marts.household_category_days {HISTORY_ORDER}"),
        wh.query("select * from marts.campaign_categories order by campaign_id, product_category"),
    )


def needs_history(config: TrainConfig) -> bool:
    """Whether a configuration's features include the history's (affinity, weekly sequences)."""
    return config.affinity or any(f == "gru" for f, _ in config.members())


def with_history_features(wh: Warehouse, examples: pd.DataFrame, config: TrainConfig) -> pd.DataFrame:
    """``examples`` with the history features ``config`` needs, each row's as of its own date;
    unchanged (and the history not read) when it needs none."""
    if not needs_history(config):
        return examples
    history = load_history(wh)
    if config.affinity:
        examples = with_affinity(examples, history)
    if any(f == "gru" for f, _ in config.members()):
        examples = with_sequences(examples, history)
    return examples
