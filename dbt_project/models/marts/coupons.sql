-- Coupon to product mapping per campaign, with the product's department where it is known.
select
    c.campaign_id,
    c.coupon_upc,
    c.product_id,
    p.department,
    p.product_id is not null as product_known
from {{ ref('stg_coupons') }} c
left join {{ ref('stg_products') }} p using (product_id)
