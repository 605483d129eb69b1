-- A candidate's facts are as of run_date 00:00: its last purchase is before run_date, and it
-- cannot have redeemed more campaigns than it had received before run_date.
select *
from {{ ref('scoring_candidates') }}
where days_since_last_purchase < 1
   or campaigns_redeemed > campaigns_received
