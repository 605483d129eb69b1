-- The dates features are computed as of: every campaign start S after the first landed day
-- and at most one day after the last landed day (so every day before S has landed).
with landed as (
    select min(landed_date) as first_landed, max(landed_date) as last_landed
    from {{ ref('stg_landed_partitions') }}
    where table_name = 'transactions'
)

select distinct c.start_date as as_of_date, l.first_landed, l.last_landed
from {{ ref('stg_campaign_descriptions') }} c, landed l
where c.start_date > l.first_landed
  and c.start_date <= l.last_landed + 1
