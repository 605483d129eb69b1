-- Household dimension: everyone seen in transactions, sends or demographics, with demographics
-- where known (about a third) and an explicit flag where not. Descriptive only: features that
-- depend on time live in household_features (as of a date). Demographics: the latest version of
-- the snapshot (stg_demographics holds every version with its window); a feature never reads
-- them here: offer_features joins the version current as of its own date (snapshot_as_of).
with ids as (
    select household_id from {{ ref('stg_transactions') }}
    union
    select household_id from {{ ref('stg_campaigns') }}
    union
    select household_id from {{ ref('stg_demographics') }} where valid_to is null
)

select
    i.household_id,
    d.household_id is not null as has_demographics,
    d.age,
    d.income,
    d.home_ownership,
    d.marital_status,
    d.household_size,
    d.household_comp,
    d.kids_count
from ids i
left join (select * from {{ ref('stg_demographics') }} where valid_to is null) d using (household_id)
