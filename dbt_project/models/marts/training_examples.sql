-- One row per household that received a campaign (the retailer's sends) whose start S has
-- features (S after the first landed day), with the features as of S and the label.
-- Label (DESIGN.md): a redemption with the same household_id and campaign_id dated in
-- [start, end], both inclusive (int_window_redemptions). While the window is not fully landed
-- (int_landed_window) the example is censored: label_observed_share is the share of the window
-- that has landed and a 0 label is not final.
-- Rebuilt on every build (small) so that open windows are updated as redemptions land.
select
    f.*,
    w.end_date,
    (r.household_id is not null)::integer                                   as label,
    coalesce(r.redemptions, 0)                                              as label_redemptions,
    r.first_redemption_date,
    not w.window_landed                                                     as is_censored,
    w.landed_share                                                          as label_observed_share,
    (r.household_id is not null) or w.window_landed                         as label_is_final
from {{ ref('stg_campaigns') }} s
join {{ ref('offer_features') }} f
  on f.household_id = s.household_id and f.campaign_id = s.campaign_id
join {{ ref('int_landed_window') }} w on w.campaign_id = s.campaign_id
left join {{ ref('int_window_redemptions') }} r on r.household_id = s.household_id and r.campaign_id = s.campaign_id
