-- Product catalogue, every snapshot version with its validity window (macros/snapshot_versions.sql):
-- one row per (product_id, snapshot_version); empty strings become nulls. A basket line reads the
-- version current on its own day (snapshot_on_day), an as-of date the one current on its day before.
{% call snapshot_staging(source('lake', 'products'), one_per='s.product_id', order_by='s.manufacturer_id') -%}
    cast(s.product_id as bigint)                as product_id,
    cast(s.manufacturer_id as bigint)           as manufacturer_id,
    nullif(trim(s.department), '')              as department,
    nullif(trim(s.brand), '')                   as brand,
    nullif(trim(s.product_category), '')        as product_category,
    nullif(trim(s.product_type), '')            as product_type,
    nullif(trim(s.package_size), '')            as package_size
{%- endcall %}
