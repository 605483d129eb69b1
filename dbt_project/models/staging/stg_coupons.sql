-- Which products each coupon of a campaign covers; the source repeats rows, kept once here.
select distinct
    cast(coupon_upc as bigint)  as coupon_upc,
    cast(product_id as bigint)  as product_id,
    cast(campaign_id as bigint) as campaign_id
from {{ source('lake', 'coupons') }}
