-- Household demographics (about a third of households have a row); empty strings become nulls.
-- Every snapshot version with its validity window: one row per (household_id, snapshot_version).
with src as (
    select * from {{ source('lake', 'demographics') }}
),

windows as (
    {{ snapshot_windows('src') }}
)

select
    cast(s.household_id as bigint)         as household_id,
    nullif(trim(s.age), '')                as age,
    nullif(trim(s.income), '')             as income,
    nullif(trim(s.home_ownership), '')     as home_ownership,
    nullif(trim(s.marital_status), '')     as marital_status,
    nullif(trim(s.household_size), '')     as household_size,
    nullif(trim(s.household_comp), '')     as household_comp,
    nullif(trim(s.kids_count), '')         as kids_count,
    w.snapshot_version,
    w.valid_from,
    w.valid_to
from src s
join windows w using (snapshot_version)
qualify row_number() over (partition by s.household_id, w.snapshot_version order by s.age) = 1
