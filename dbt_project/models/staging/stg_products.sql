-- Product catalogue; empty strings become nulls.
select
    cast(product_id as bigint)                as product_id,
    cast(manufacturer_id as bigint)           as manufacturer_id,
    nullif(trim(department), '')              as department,
    nullif(trim(brand), '')                   as brand,
    nullif(trim(product_category), '')        as product_category,
    nullif(trim(product_type), '')            as product_type,
    nullif(trim(package_size), '')            as package_size
from {{ source('lake', 'products') }}
qualify row_number() over (partition by product_id order by manufacturer_id) = 1
