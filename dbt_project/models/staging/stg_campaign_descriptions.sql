-- Campaign plans: type (A/B/C), window [start_date, end_date] both inclusive, planned size.
-- One row per campaign, from the snapshot version its decision reads: the latest version current
-- as of its own start date (snapshot_as_of: on the day before the start), else (a campaign first
-- described after its start) the earliest version that holds it.
with versions as (
    {% call snapshot_staging(source('lake', 'campaign_descriptions')) -%}
        cast(s.campaign_id as bigint)           as campaign_id,
        trim(s.campaign_type)                   as campaign_type,
        cast(s.start_date as date)              as start_date,
        cast(s.end_date as date)                as end_date,
        cast(s.planned_size as integer)         as planned_size
    {%- endcall %}
)

select
    campaign_id,
    campaign_type,
    start_date,
    end_date,
    planned_size,
    datediff('day', start_date, end_date) + 1 as duration_days,
    snapshot_version,
    valid_from,
    valid_to
from versions v
qualify row_number() over (
    partition by campaign_id
    order by (snapshot_version = 1 or valid_from < start_date) desc,
             case when snapshot_version = 1 or valid_from < start_date then -snapshot_version else snapshot_version end,
             start_date
) = 1
