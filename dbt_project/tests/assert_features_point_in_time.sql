-- Nothing in the feature marts is dated on or after its as-of date: the last purchase and the
-- last redemption are at least one day before it, the first purchase lies inside the landed
-- history, and no household redeemed more campaigns than it had received.
select household_id, as_of_date, 'household_features' as mart
from {{ ref('household_features') }}
where days_since_last_purchase < 1
   or days_since_last_redemption < 1
   or days_since_first_purchase > history_days
   or campaigns_redeemed > campaigns_received
union all
select household_id, run_date, 'scoring_candidates'
from {{ ref('scoring_candidates') }}
where days_since_last_purchase < 1
