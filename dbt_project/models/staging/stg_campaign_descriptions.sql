-- Campaign plans: type (A/B/C), window [start_date, end_date] both inclusive, planned size.
select
    cast(campaign_id as bigint)           as campaign_id,
    trim(campaign_type)                   as campaign_type,
    cast(start_date as date)              as start_date,
    cast(end_date as date)                as end_date,
    cast(planned_size as integer)         as planned_size,
    datediff('day', cast(start_date as date), cast(end_date as date)) + 1 as duration_days
from {{ source('lake', 'campaign_descriptions') }}
qualify row_number() over (partition by campaign_id order by start_date) = 1
