-- The lake's published partitions: what has landed, per table and day.
select
    cast(table_name as varchar) as table_name,
    cast(date as date)          as landed_date
from {{ source('lake', 'landed_partitions') }}
