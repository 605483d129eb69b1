-- The product categories of each campaign's coupon products, with how many of its coupon
-- products fall in each: the campaign's side of the model's affinity features
-- (models.affinity: the mean of these categories' factors, weighted by the product counts).
-- Coupon rows whose product has no row have no category and are left out. The categories are the
-- products version's current as of the campaign's start (coupons).
select
    c.campaign_id,
    c.product_category,
    count(distinct c.product_id) as n_products
from {{ ref('coupons') }} c
where c.product_category is not null
group by 1, 2
