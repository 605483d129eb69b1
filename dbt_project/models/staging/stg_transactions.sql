-- Basket lines, typed and deduplicated. Incremental on the landing date: a daily build reads only
-- the partitions newer than the watermark (the `date` hive key prunes the others).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='landed_date',
    on_schema_change='fail',
) }}

with source as (
    select * from {{ source('lake', 'transactions') }}
    {% if is_incremental() %}
    where date > (select coalesce(max(landed_date), date '1900-01-01') from {{ this }})
    {% endif %}
),

typed as (
    select
        cast(household_id as bigint)            as household_id,
        cast(store_id as bigint)                as store_id,
        cast(basket_id as bigint)               as basket_id,
        cast(product_id as bigint)              as product_id,
        cast(quantity as integer)               as quantity,
        cast(sales_value as decimal(10, 2))     as sales_value,
        cast(retail_disc as decimal(10, 2))     as retail_disc,
        cast(coupon_disc as decimal(10, 2))     as coupon_disc,
        cast(coupon_match_disc as decimal(10, 2)) as coupon_match_disc,
        cast(week as integer)                   as week,
        cast(transaction_timestamp as timestamp) as transaction_timestamp,
        cast(transaction_timestamp as date)     as transaction_date,
        cast(date as date)                      as landed_date
    from source
)

select * from typed
qualify row_number() over (partition by basket_id, product_id order by landed_date) = 1
