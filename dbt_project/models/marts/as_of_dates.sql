-- The dates features are computed as of: every campaign start S after the first landed day
-- and at most one day after the last landed day (so every day before S has landed).
select distinct w.start_date as as_of_date, w.first_landed, w.last_landed
from {{ ref('int_landed_window') }} w
where w.start_date > w.first_landed
  and w.start_reached
