-- Coupon redemptions, typed and deduplicated; redemption_date is a date.
with source as (
    select * from {{ source('lake', 'coupon_redemptions') }}
)

select distinct
    cast(household_id as bigint)     as household_id,
    cast(coupon_upc as bigint)       as coupon_upc,
    cast(campaign_id as bigint)      as campaign_id,
    cast(redemption_date as date)    as redemption_date,
    cast(date as date)               as landed_date
from source
