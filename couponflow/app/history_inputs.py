"""What the model's embeddings and sequences read from the warehouse: the households' daily
history by product category and the categories of each campaign's coupon products
(``models.history.History``; the model cuts the history at each as-of date itself)."""

from __future__ import annotations

from couponflow.platform.warehouse import Warehouse
from models.history import History

# one canonical order: the codes and sums built from it must not depend on scan order
HISTORY_ORDER = "order by household_id, transaction_date, product_category, department_group"


def load_history(wh: Warehouse) -> History:
    return History(
        wh.query(f"select * from marts.household_category_days {HISTORY_ORDER}"),
        wh.query("select * from marts.campaign_categories order by campaign_id, product_category"),
    )
