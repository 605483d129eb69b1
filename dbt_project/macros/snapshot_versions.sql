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
{% macro snapshot_on_day(alias, day) -%}
    ({{ alias }}.snapshot_version = 1 or {{ alias }}.valid_from <= {{ day }})
    and ({{ alias }}.valid_to is null or {{ day }} < {{ alias }}.valid_to)
{%- endmacro %}

{#- Whether the version of row `alias` is the one an as-of date S reads: the version current on
    S's last data day, S - 1 (the point-in-time cut of before_as_of). -#}
{% macro snapshot_as_of(alias, as_of) -%}
    {{ snapshot_on_day(alias, as_of ~ " - 1") }}
{%- endmacro %}
