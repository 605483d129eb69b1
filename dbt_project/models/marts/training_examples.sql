-- One row per household that received a campaign (the retailer's sends) whose start S has
-- features (S after the first landed day), with the features as of S and the label.
-- Label (DESIGN.md): a redemption with the same household_id and campaign_id dated in
-- [start, end], both inclusive. While the window is not fully landed the example is censored:
-- label_observed_share is the share of the window that has landed and a 0 label is not final.
-- Rebuilt on every build (small) so that open windows are updated as redemptions land.
with landed as (
    select max(landed_date) as last_landed
    from {{ ref('stg_landed_partitions') }}
    where table_name = 'transactions'
),

redeemed as (
    select r.household_id, r.campaign_id, min(r.redemption_date) as first_redemption_date,
           count(*) as redemptions
    from {{ ref('stg_coupon_redemptions') }} r
    join {{ ref('stg_campaign_descriptions') }} c using (campaign_id)
    where r.redemption_date between c.start_date and c.end_date
    group by 1, 2
)

select
    f.*,
    c.end_date,
    (r.household_id is not null)::integer                                   as label,
    coalesce(r.redemptions, 0)                                              as label_redemptions,
    r.first_redemption_date,
    l.last_landed < c.end_date                                              as is_censored,
    least(1.0, greatest(0.0,
        (datediff('day', c.start_date, l.last_landed) + 1) / c.duration_days::double)) as label_observed_share,
    (r.household_id is not null) or l.last_landed >= c.end_date             as label_is_final
from {{ ref('stg_campaigns') }} s
join {{ ref('offer_features') }} f
  on f.household_id = s.household_id and f.campaign_id = s.campaign_id
join {{ ref('stg_campaign_descriptions') }} c on c.campaign_id = s.campaign_id
cross join landed l
left join redeemed r on r.household_id = s.household_id and r.campaign_id = s.campaign_id
