{#- Snapshot versions (couponflow.platform.snapshots). The lake's view of a snapshot holds every
    version, each row with its snapshot_version and valid_from (the first data day it describes);
    a version is current on the data days [valid_from, valid_to), valid_to being the next
    version's valid_from (null for the latest), and version 1 also on every day before it. -#}

{#- The versions of a snapshot relation with their windows (one row per version). -#}
{% macro snapshot_windows(relation) -%}
    select
        snapshot_version,
        min(valid_from)                                                    as valid_from,
        lead(min(valid_from)) over (order by snapshot_version)             as valid_to
    from {{ relation }}
    group by snapshot_version
{%- endmacro %}

{#- Whether the version of row `alias` is current on data day `day` (a basket line's date). -#}
{#- Written as two plain comparisons, never with `or`: an `or` in a left join's condition makes
    DuckDB give up its hash join on the key for a nested loop (marts.coupons took 17-30 s instead
    of 0.05 s on the real year, and each basket-line model about 30 s a build). -#}
{% macro snapshot_on_day(alias, day) -%}
    {{ day }} >= (case when {{ alias }}.snapshot_version = 1 then date '0001-01-01' else {{ alias }}.valid_from end)
    and {{ day }} < coalesce({{ alias }}.valid_to, date '9999-12-31')
{%- endmacro %}

{#- Whether the version of row `alias` is the one an as-of date S reads: the version current on
    S's last data day, S - 1 (the point-in-time cut of before_as_of). -#}
{% macro snapshot_as_of(alias, as_of) -%}
    {{ snapshot_on_day(alias, as_of ~ " - 1") }}
{%- endmacro %}

{#- A snapshot's staging rows: every row of `relation` with its version's window, the caller's
    block giving the typed columns (over alias `s`); `distinct` keeps each row once, `one_per`
    (with `order_by`) keeps one row per key and version. One shape for every snapshot's staging
    model (stg_products, stg_demographics, stg_coupons, stg_campaign_descriptions). -#}
{% macro snapshot_staging(relation, distinct=false, one_per=none, order_by=none) -%}
    with src as (
        select * from {{ relation }}
    ),

    windows as (
        {{ snapshot_windows('src') }}
    )

    select {% if distinct %}distinct{% endif %}
        {{ caller() }},
        w.snapshot_version,
        w.valid_from,
        w.valid_to
    from src s
    join windows w using (snapshot_version)
    {%- if one_per %}
    qualify row_number() over (partition by {{ one_per }}, w.snapshot_version order by {{ order_by }}) = 1
    {%- endif %}
{%- endmacro %}

{#- The basket lines with the products version of their own day (alias t, p), and, in an
    incremental build, only the days after the newest one `this` holds: the from clause that
    int_household_days and household_category_days share. -#}
{% macro lines_with_product_of_their_day() -%}
    from {{ ref('stg_transactions') }} t
    left join {{ ref('products') }} p
        on p.product_id = t.product_id and {{ snapshot_on_day('p', 't.transaction_date') }}
    {% if is_incremental() %}
    where t.transaction_date > (select coalesce(max(transaction_date), date '1900-01-01') from {{ this }})
    {% endif %}
{%- endmacro %}

{#- A line's department, the two meat departments as one (p: the products row). -#}
{% macro line_department(alias='p') -%}
    case when {{ alias }}.department in ('MEAT', 'MEAT-PCKGD') then 'MEAT' else {{ alias }}.department end
{%- endmacro %}

{#- The departments the features and the category history name; every other is "other". -#}
{% macro feature_departments() -%}
    {{ return(['GROCERY', 'DRUG GM', 'PRODUCE', 'MEAT', 'DELI', 'FUEL', 'PASTRY']) }}
{%- endmacro %}
