-- Household demographics (about a third of households have a row); empty strings become nulls.
-- Every snapshot version with its validity window: one row per (household_id, snapshot_version).
{% call snapshot_staging(source('lake', 'demographics'), one_per='s.household_id', order_by='s.age') -%}
    cast(s.household_id as bigint)         as household_id,
    nullif(trim(s.age), '')                as age,
    nullif(trim(s.income), '')             as income,
    nullif(trim(s.home_ownership), '')     as home_ownership,
    nullif(trim(s.marital_status), '')     as marital_status,
    nullif(trim(s.household_size), '')     as household_size,
    nullif(trim(s.household_comp), '')     as household_comp,
    nullif(trim(s.kids_count), '')         as kids_count
{%- endcall %}
