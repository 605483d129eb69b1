-- Grain: one row per (run_date, household_id, campaign_id) for every campaign that starts on
-- run_date and every household with at least one purchase before run_date. Every fact is as of
-- run_date 00:00: transactions dated before run_date, campaigns started before run_date,
-- redemptions dated before run_date. Campaigns starting on the same day do not see each other.
-- The eligibility policy (activity window, control group, caps) is applied in models/, not here.
with offers as (
    select campaign_id, campaign_type, start_date as run_date
    from {{ ref('campaign_offers') }}
    where start_date > (
        select min(landed_date) from {{ ref('stg_landed_partitions') }} where table_name = 'transactions'
    )
),

run_dates as (
    select distinct run_date from offers
),

activity as (
    select
        r.run_date,
        t.household_id,
        max(t.transaction_date)                                                    as last_purchase_date,
        count(distinct t.basket_id) filter (where t.transaction_date >= r.run_date - 30) as baskets_30d,
        count(distinct t.basket_id) filter (where t.transaction_date >= r.run_date - 90) as baskets_90d,
        count(distinct t.basket_id)                                                as baskets_all,
        sum(t.sales_value) filter (where t.transaction_date >= r.run_date - 90)     as spend_90d
    from run_dates r
    join {{ ref('stg_transactions') }} t on t.transaction_date < r.run_date
    group by 1, 2
),

received as (
    select r.run_date, s.household_id, count(*) as campaigns_received
    from run_dates r
    join {{ ref('stg_campaigns') }} s on true
    join {{ ref('stg_campaign_descriptions') }} d using (campaign_id)
    where d.start_date < r.run_date
    group by 1, 2
),

redeemed as (
    -- a received campaign counts as redeemed once a redemption of it, dated inside its window,
    -- has landed (dated before run_date)
    select r.run_date, s.household_id, count(distinct s.campaign_id) as campaigns_redeemed
    from run_dates r
    join {{ ref('stg_campaigns') }} s on true
    join {{ ref('stg_campaign_descriptions') }} d using (campaign_id)
    join {{ ref('stg_coupon_redemptions') }} x
      on x.household_id = s.household_id and x.campaign_id = s.campaign_id
    where d.start_date < r.run_date
      and x.redemption_date < r.run_date
      and x.redemption_date between d.start_date and d.end_date
    group by 1, 2
)

select
    o.run_date,
    a.household_id,
    o.campaign_id,
    o.campaign_type,
    datediff('day', a.last_purchase_date, o.run_date)  as days_since_last_purchase,
    a.baskets_30d,
    a.baskets_90d,
    a.baskets_all,
    coalesce(cast(a.spend_90d as double), 0)           as spend_90d,
    coalesce(rc.campaigns_received, 0)                 as campaigns_received,
    coalesce(rd.campaigns_redeemed, 0)                 as campaigns_redeemed
from offers o
join activity a on a.run_date = o.run_date
left join received rc on rc.run_date = o.run_date and rc.household_id = a.household_id
left join redeemed rd on rd.run_date = o.run_date and rd.household_id = a.household_id
