"""offer_features' affinity columns as the mart defined them before its affinity was staged:
distinct counts over every line of the campaign's coupon products dated before S, one row per
coupon a product sits under, and spend over the distinct lines. Tests compare the mart with it.
"""

from __future__ import annotations

import duckdb
import pandas as pd

AFFINITY = [
    "aff_products_all",
    "aff_products_90d",
    "aff_products_30d",
    "aff_baskets_all",
    "aff_baskets_90d",
    "aff_coupons_touched_all",
    "aff_coupons_touched_90d",
    "aff_coupon_baskets_all",
    "aff_spend_all",
    "aff_spend_90d",
]


def affinity_and_definition(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The mart's affinity columns and their definition recomputed from the staged lines, both
    ordered by (as_of_date, campaign_id, household_id)."""
    recomputed = con.execute("""
        with cp as (
            select distinct o.as_of_date, o.campaign_id, c.coupon_upc, c.product_id
            from (select distinct as_of_date, campaign_id from marts.offer_features) o
            join staging.stg_coupons c using (campaign_id)
        ),
        l as (
            select cp.as_of_date, cp.campaign_id, t.household_id, t.basket_id, t.product_id, cp.coupon_upc,
                   datediff('day', t.transaction_date, cp.as_of_date) as age, t.sales_value,
                   t.coupon_disc > 0 as is_coupon_line
            from cp join staging.stg_transactions t
              on t.product_id = cp.product_id and t.transaction_date < cp.as_of_date
        ),
        a as (
            select as_of_date, campaign_id, household_id,
                   count(distinct product_id) as aff_products_all,
                   count(distinct product_id) filter (where age <= 90) as aff_products_90d,
                   count(distinct product_id) filter (where age <= 30) as aff_products_30d,
                   count(distinct basket_id) as aff_baskets_all,
                   count(distinct basket_id) filter (where age <= 90) as aff_baskets_90d,
                   count(distinct coupon_upc) as aff_coupons_touched_all,
                   count(distinct coupon_upc) filter (where age <= 90) as aff_coupons_touched_90d,
                   count(distinct basket_id) filter (where is_coupon_line) as aff_coupon_baskets_all
            from l group by 1, 2, 3
        ),
        s as (
            select as_of_date, campaign_id, household_id,
                   cast(sum(sales_value) as double) as aff_spend_all,
                   cast(coalesce(sum(sales_value) filter (where age <= 90), 0) as double) as aff_spend_90d
            from (select distinct as_of_date, campaign_id, household_id, basket_id, product_id, age, sales_value
                  from l)
            group by 1, 2, 3
        )
        select f.as_of_date, f.campaign_id, f.household_id,
               coalesce(a.aff_products_all, 0) as aff_products_all,
               coalesce(a.aff_products_90d, 0) as aff_products_90d,
               coalesce(a.aff_products_30d, 0) as aff_products_30d,
               coalesce(a.aff_baskets_all, 0) as aff_baskets_all,
               coalesce(a.aff_baskets_90d, 0) as aff_baskets_90d,
               coalesce(a.aff_coupons_touched_all, 0) as aff_coupons_touched_all,
               coalesce(a.aff_coupons_touched_90d, 0) as aff_coupons_touched_90d,
               coalesce(a.aff_coupon_baskets_all, 0) as aff_coupon_baskets_all,
               coalesce(s.aff_spend_all, 0) as aff_spend_all,
               coalesce(s.aff_spend_90d, 0) as aff_spend_90d
        from marts.offer_features f
        left join a using (as_of_date, campaign_id, household_id)
        left join s using (as_of_date, campaign_id, household_id)
        order by 1, 2, 3
    """).df()
    cols = ", ".join(AFFINITY)
    features = con.execute(
        f"select as_of_date, campaign_id, household_id, {cols} from marts.offer_features order by 1, 2, 3"
    ).df()
    return features, recomputed
