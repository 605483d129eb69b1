-- Grain: one row per (run_date, household_id, campaign_id): every campaign that starts on
-- run_date times every household with at least one purchase before run_date, with the
-- offer's features as of run_date 00:00 (nothing dated run_date or later). The eligibility
-- policy (activity window, control group, caps) is applied in models/, not here.
select
    as_of_date as run_date,
    * exclude (as_of_date, has_purchase_history, sends_landed)
from {{ ref('offer_features') }}
where has_purchase_history
