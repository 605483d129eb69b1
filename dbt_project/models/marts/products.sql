-- Product dimension with the private-label flag used by the features.
select
    product_id,
    manufacturer_id,
    department,
    brand,
    brand = 'Private' as is_private_label,
    product_category,
    product_type,
    package_size
from {{ ref('stg_products') }}
