-- When each household first bought each product, in each store and in each department: the
-- all-time distinct counts of household_features (n_products_all, n_stores, n_departments) as of
-- S are the rows first seen before S. Grain: one row per (household_id, item_kind, item), with
-- item_kind 'product' | 'store' | 'department' (departments as household_features groups them:
-- MEAT-PCKGD is MEAT; lines of a product without a department have none).
-- Incremental: the days after the newest first_date add only the items the household had never
-- bought before (the days before are immutable, so a first_date never moves, and a day read twice
-- adds nothing twice). Its size grows with the distinct pairs a
-- household buys, which level off, not with the basket lines.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
) }}

with lines as (
    select
        t.household_id,
        t.transaction_date,
        t.product_id,
        t.store_id,
        {{ line_department('p') }} as department
    from {{ ref('stg_transactions') }} t
    left join {{ ref('products') }} p
        on p.product_id = t.product_id and {{ snapshot_on_day('p', 't.transaction_date') }}
    {% if is_incremental() %}
    where t.transaction_date > (select coalesce(max(first_date), date '1900-01-01') from {{ this }})
    {% endif %}
),

items as (
    select household_id, 'product' as item_kind, cast(product_id as varchar) as item, transaction_date
    from lines where product_id is not null
    union all
    select household_id, 'store', cast(store_id as varchar), transaction_date from lines where store_id is not null
    union all
    select household_id, 'department', department, transaction_date from lines where department is not null
),

firsts as (
    select household_id, item_kind, item, min(transaction_date) as first_date
    from items
    group by 1, 2, 3
)

select
    f.household_id,
    f.item_kind,
    f.item,
    f.first_date
from firsts f
{% if is_incremental() %}
anti join {{ this }} s using (household_id, item_kind, item)
{% endif %}
