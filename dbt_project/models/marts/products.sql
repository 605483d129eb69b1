-- Product dimension with the private-label flag used by the features: every snapshot version,
-- one row per (product_id, snapshot_version), current on the data days [valid_from, valid_to).
-- Join it with snapshot_on_day (a basket line: its own day) or snapshot_as_of (an as-of date).
select
    product_id,
    snapshot_version,
    valid_from,
    valid_to,
    manufacturer_id,
    department,
    brand,
    brand = 'Private' as is_private_label,
    product_category,
    product_type,
    package_size
from {{ ref('stg_products') }}
