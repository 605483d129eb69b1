-- Households that received a campaign (the retailer's sends), one row per (household, campaign).
with source as (
    select * from {{ source('lake', 'campaigns') }}
)

select distinct
    cast(household_id as bigint) as household_id,
    cast(campaign_id as bigint)  as campaign_id,
    cast(date as date)           as landed_date
from source
