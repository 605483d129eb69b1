-- Grain: one row per campaign whose start date the lake has reached (start <= last landed day + 1),
-- with the facts fixed when it is sent. expected_discount is the mean coupon discount
-- (coupon_disc + coupon_match_disc) of past coupon-redeeming lines on the campaign's coupon
-- products, using only transactions dated before the start; with no such history it falls back
-- to all coupon lines before the start, and is null if there are none (the policy then uses its
-- default).
with watermark as (
    select max(landed_date) as last_landed
    from {{ ref('stg_landed_partitions') }}
    where table_name = 'transactions'
),

campaigns as (
    select c.*
    from {{ ref('stg_campaign_descriptions') }} c, watermark w
    where c.start_date <= w.last_landed + 1
),

coupon_products as (
    select campaign_id, count(distinct coupon_upc) as n_coupons, count(distinct product_id) as n_products
    from {{ ref('stg_coupons') }}
    group by 1
),

coupon_lines as (
    select product_id, transaction_date, coupon_disc + coupon_match_disc as discount
    from {{ ref('stg_transactions') }}
    where coupon_disc > 0
),

campaign_discount as (
    select c.campaign_id, avg(l.discount) as mean_discount, count(*) as history_lines
    from campaigns c
    join (select distinct campaign_id, product_id from {{ ref('stg_coupons') }}) cp using (campaign_id)
    join coupon_lines l on l.product_id = cp.product_id and l.transaction_date < c.start_date
    group by 1
),

main_department as (
    -- the department holding most of the campaign's coupon products (ties: alphabetical)
    select campaign_id, first(department order by n_products desc, department) as main_department
    from (
        select c.campaign_id, coalesce(p.department, 'UNKNOWN') as department,
               count(distinct c.product_id) as n_products
        from {{ ref('stg_coupons') }} c
        left join {{ ref('stg_products') }} p using (product_id)
        group by 1, 2
    )
    group by 1
),

recipients as (
    select campaign_id, count(*) as n_recipients
    from {{ ref('stg_campaigns') }}
    group by 1
),

overall_discount as (
    select c.campaign_id, avg(l.discount) as mean_discount
    from campaigns c
    join coupon_lines l on l.transaction_date < c.start_date
    group by 1
)

select
    c.campaign_id,
    c.campaign_type,
    c.start_date,
    c.end_date,
    c.duration_days,
    c.planned_size,
    coalesce(cp.n_coupons, 0)                             as n_coupons,
    coalesce(cp.n_products, 0)                            as n_products,
    coalesce(cd.history_lines, 0)                         as discount_history_lines,
    cast(coalesce(cd.mean_discount, od.mean_discount) as double) as expected_discount,
    coalesce(md.main_department, 'UNKNOWN')               as main_department,
    coalesce(r.n_recipients, 0)                           as n_recipients
from campaigns c
left join coupon_products cp using (campaign_id)
left join campaign_discount cd using (campaign_id)
left join overall_discount od using (campaign_id)
left join recipients r using (campaign_id)
left join main_department md using (campaign_id)
