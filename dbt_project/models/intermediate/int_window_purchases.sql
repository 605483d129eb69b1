-- What each household bought of a campaign's coupon products inside the campaign's window
-- [start_date, end_date], both ends inclusive. Grain: one row per (household_id, campaign_id)
-- with at least one such basket line. Amounts stay decimals (sums of the lines).
with campaign_products as (
    select distinct campaign_id, product_id
    from {{ ref('stg_coupons') }}
)

select
    t.household_id,
    cp.campaign_id,
    count(*)                                                                      as lines,
    count(*) filter (where t.coupon_disc > 0)                                     as coupon_lines,
    sum(t.sales_value)                                                            as spend,
    sum(case when t.coupon_disc > 0 then t.coupon_disc + t.coupon_match_disc else 0 end) as coupon_discount
from {{ ref('stg_transactions') }} t
join campaign_products cp on cp.product_id = t.product_id
join {{ ref('stg_campaign_descriptions') }} c on c.campaign_id = cp.campaign_id
where t.transaction_date between c.start_date and c.end_date
group by 1, 2
