-- One row per basket. Incremental on the landing date: a daily build adds only the new days.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='basket_date',
    on_schema_change='fail',
) }}

select
    t.basket_id,
    any_value(t.household_id)                              as household_id,
    any_value(t.store_id)                                  as store_id,
    min(t.transaction_timestamp)                           as basket_timestamp,
    t.transaction_date                                     as basket_date,
    count(*)                                               as n_lines,
    count(distinct t.product_id)                           as n_products,
    sum(t.sales_value)                                     as sales_value,
    sum(t.retail_disc)                                     as retail_disc,
    sum(t.coupon_disc)                                     as coupon_disc,
    sum(t.coupon_match_disc)                               as coupon_match_disc,
    count(*) filter (where t.coupon_disc > 0)              as coupon_lines,
    coalesce(sum(t.sales_value) filter (where p.is_private_label), 0) as private_label_sales
from {{ ref('stg_transactions') }} t
left join {{ ref('products') }} p
      on p.product_id = t.product_id and {{ snapshot_on_day('p', 't.transaction_date') }}
{% if is_incremental() %}
where t.transaction_date > (select coalesce(max(basket_date), date '1900-01-01') from {{ this }})
{% endif %}
group by t.basket_id, t.transaction_date
