-- Grain: one row per (household_id, campaign_id) that was a scoring candidate of the campaign
-- (scoring_candidates of its start date), for campaigns whose window [start, end] has fully
-- landed (end_date <= last landed day). What happened to the household in the window: whether it
-- redeemed one of the campaign's coupons (the label's rule), how many times, the coupon discount
-- it took on the campaign's coupon products when it redeemed (what a redemption really cost), and
-- its spend on those products (the outcome lift is measured on). Rebuilt on every build (small).
with landed as (
    select max(landed_date) as last_landed
    from {{ ref('stg_landed_partitions') }}
    where table_name = 'transactions'
),

closed as (
    select c.campaign_id, c.start_date, c.end_date
    from {{ ref('stg_campaign_descriptions') }} c, landed l
    where c.end_date <= l.last_landed
),

candidates as (
    select distinct s.household_id, s.campaign_id
    from {{ ref('scoring_candidates') }} s
    join closed c on c.campaign_id = s.campaign_id and s.run_date = c.start_date
),

campaign_products as (
    select distinct k.campaign_id, k.product_id
    from {{ ref('stg_coupons') }} k
    join closed using (campaign_id)
),

window_lines as (
    select
        t.household_id,
        cp.campaign_id,
        sum(t.sales_value)                                                            as spend,
        sum(case when t.coupon_disc > 0 then t.coupon_disc + t.coupon_match_disc else 0 end) as coupon_discount
    from {{ ref('stg_transactions') }} t
    join campaign_products cp on cp.product_id = t.product_id
    join closed c on c.campaign_id = cp.campaign_id
    where t.transaction_date between c.start_date and c.end_date
    group by 1, 2
),

redeemed as (
    select r.household_id, r.campaign_id, count(*) as redemptions
    from {{ ref('stg_coupon_redemptions') }} r
    join closed c using (campaign_id)
    where r.redemption_date between c.start_date and c.end_date
    group by 1, 2
)

select
    k.household_id,
    k.campaign_id,
    c.start_date,
    c.end_date,
    (r.household_id is not null)::integer                                      as redeemed,
    coalesce(r.redemptions, 0)                                                 as redemptions,
    cast(case when r.household_id is not null then coalesce(w.coupon_discount, 0) else 0 end as double)
                                                                               as redemption_discount,
    cast(coalesce(w.spend, 0) as double)                                       as spend_on_coupon_products
from candidates k
join closed c using (campaign_id)
left join redeemed r using (household_id, campaign_id)
left join window_lines w using (household_id, campaign_id)
