-- Grain: one row per (household_id, campaign_id) that was a scoring candidate of the campaign
-- (scoring_candidates of its start date), for campaigns whose window [start, end] has fully
-- landed (int_landed_window). What happened to the household in the window: whether it redeemed
-- one of the campaign's coupons (int_window_redemptions, the label's rule), how many times, the
-- coupon discount it took on the campaign's coupon products when it redeemed (what a redemption
-- really cost), and its spend on those products (int_window_purchases; the outcome lift is
-- measured on). Rebuilt on every build (small).
with closed as (
    select w.campaign_id, w.start_date, w.end_date
    from {{ ref('int_landed_window') }} w
    where w.window_landed
),

candidates as (
    select distinct s.household_id, s.campaign_id
    from {{ ref('scoring_candidates') }} s
    join closed c on c.campaign_id = s.campaign_id and s.run_date = c.start_date
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
left join {{ ref('int_window_redemptions') }} r using (household_id, campaign_id)
left join {{ ref('int_window_purchases') }} w using (household_id, campaign_id)
