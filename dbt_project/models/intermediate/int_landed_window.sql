-- How much of each campaign's window [start_date, end_date] has landed. The lake's watermark is
-- the first and last landed day of transactions (a day counts as landed only when every daily
-- table of it has: expose_lake hides half-landed days). Grain: one row per campaign.
with landed as (
    select min(landed_date) as first_landed, max(landed_date) as last_landed
    from {{ ref('stg_landed_partitions') }}
    where table_name = 'transactions'
)

select
    c.campaign_id,
    c.start_date,
    c.end_date,
    c.duration_days,
    l.first_landed,
    l.last_landed,
    c.start_date <= l.last_landed + 1                                         as start_reached,
    l.last_landed >= c.end_date                                               as window_landed,
    least(1.0, greatest(0.0,
        (datediff('day', c.start_date, l.last_landed) + 1) / c.duration_days::double)) as landed_share
from {{ ref('stg_campaign_descriptions') }} c
cross join landed l
