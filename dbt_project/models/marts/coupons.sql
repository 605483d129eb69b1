-- Coupon to product mapping per campaign, with the product's department and category where it is
-- known, from the products version current as of the campaign's start (snapshot_as_of).
select
    c.campaign_id,
    c.coupon_upc,
    c.product_id,
    p.department,
    p.product_category,
    p.product_id is not null as product_known
from {{ ref('stg_coupons') }} c
left join {{ ref('stg_campaign_descriptions') }} d using (campaign_id)
left join {{ ref('stg_products') }} p
  on p.product_id = c.product_id and {{ snapshot_as_of('p', 'd.start_date') }}
