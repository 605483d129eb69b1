-- Household demographics (about a third of households have a row); empty strings become nulls.
select
    cast(household_id as bigint)         as household_id,
    nullif(trim(age), '')                as age,
    nullif(trim(income), '')             as income,
    nullif(trim(home_ownership), '')     as home_ownership,
    nullif(trim(marital_status), '')     as marital_status,
    nullif(trim(household_size), '')     as household_size,
    nullif(trim(household_comp), '')     as household_comp,
    nullif(trim(kids_count), '')         as kids_count
from {{ source('lake', 'demographics') }}
qualify row_number() over (partition by household_id order by age) = 1
