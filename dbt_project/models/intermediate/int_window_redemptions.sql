-- The label's rule, written once: a household redeemed a campaign when one of its redemptions with
-- the same household_id and campaign_id is dated inside the campaign's window [start_date,
-- end_date], both ends inclusive. Grain: one row per (household_id, campaign_id) with such a
-- redemption. Whether the window has landed is int_landed_window's business, not this model's.
select
    r.household_id,
    r.campaign_id,
    min(r.redemption_date) as first_redemption_date,
    count(*)               as redemptions
from {{ ref('stg_coupon_redemptions') }} r
join {{ ref('stg_campaign_descriptions') }} c on c.campaign_id = r.campaign_id
where r.redemption_date between c.start_date and c.end_date
group by 1, 2
