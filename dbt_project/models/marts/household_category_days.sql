-- What each household spent on each product category, per day: the history the model's
-- affinity embeddings (spend matrix) and weekly sequences are cut from, as of any date S, by
-- models.history.before (rows dated before S). Not an as-of grain on purpose: a day's rows
-- never change once landed, so one row per (household, day, category) serves every as-of date
-- (about 1.1M rows for the year, where a matrix per as-of date would be 3.5M).
-- Incremental on the transaction date, like baskets: a daily build adds only the new days.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='transaction_date',
    on_schema_change='fail',
) }}

{% set departments = feature_departments() %}

with lines as (
    select
        t.household_id,
        t.transaction_date,
        coalesce(p.product_category, 'UNKNOWN')                               as product_category,
        {{ line_department('p') }} as department,
        cast(t.sales_value as double)                                         as sales_value,
        t.coupon_disc > 0                                                     as is_coupon_line
    {{ lines_with_product_of_their_day() }}
)

select
    household_id,
    transaction_date,
    product_category,
    case when department in ('{{ departments | join("', '") }}') then department else 'OTHER' end as department_group,
    sum(sales_value)                                                          as spend,
    count(*)                                                                  as lines,
    count(*) filter (where is_coupon_line)                                    as coupon_lines
from lines
group by 1, 2, 3, 4
