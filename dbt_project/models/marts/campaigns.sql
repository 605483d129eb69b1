-- Grain: one row per campaign whose start date the lake has reached (start <= last landed day + 1),
-- with the facts fixed when it is sent. expected_discount is the mean coupon discount
-- (coupon_disc + coupon_match_disc) of past coupon-redeeming lines on the campaign's coupon
-- products, using only transactions dated before the start; with no such history it falls back
-- to all coupon lines before the start, and is null if there are none (the policy then uses its
-- default). A redeeming household takes several discounted lines in a window, so the cost of a
-- redeemer is expected_discount x lines_per_redeemer: the discounted lines per redeeming household
-- on their coupon products in the windows of past campaigns of the same type that ended before
-- the start (all types when none of its type has; 1 when no campaign has ended yet).
with campaigns as (
    select c.*
    from {{ ref('stg_campaign_descriptions') }} c
    join {{ ref('int_landed_window') }} w on w.campaign_id = c.campaign_id
    where w.start_reached
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
    join coupon_lines l on l.product_id = cp.product_id and {{ before_as_of('l.transaction_date', 'c.start_date') }}
    group by 1
),

main_department as (
    -- the department holding most of the campaign's coupon products (ties: alphabetical)
    select campaign_id, first(department order by n_products desc, department) as main_department
    from (
        -- the products version current as of the campaign's start
        select c.campaign_id, coalesce(p.department, 'UNKNOWN') as department,
               count(distinct c.product_id) as n_products
        from {{ ref('stg_coupons') }} c
        left join {{ ref('stg_campaign_descriptions') }} d using (campaign_id)
        left join {{ ref('stg_products') }} p
          on p.product_id = c.product_id and {{ snapshot_as_of('p', 'd.start_date') }}
        group by 1, 2
    )
    group by 1
),

recipients as (
    select campaign_id, count(*) as n_recipients
    from {{ ref('stg_campaigns') }}
    group by 1
),

past_windows as (
    -- every campaign's redeemers (int_window_redemptions) and their discounted lines on its coupon
    -- products in its window (int_window_purchases)
    select d.campaign_id, d.campaign_type, d.end_date,
           count(*) as redeemers,
           coalesce(sum(p.coupon_lines), 0) as lines
    from {{ ref('stg_campaign_descriptions') }} d
    join {{ ref('int_window_redemptions') }} r on r.campaign_id = d.campaign_id
    left join {{ ref('int_window_purchases') }} p
      on p.campaign_id = r.campaign_id and p.household_id = r.household_id
    group by 1, 2, 3
),

lines_per_redeemer as (
    select c.campaign_id,
           sum(p.lines) filter (where p.campaign_type = c.campaign_type)
               / nullif(sum(p.redeemers) filter (where p.campaign_type = c.campaign_type), 0) as same_type,
           sum(p.lines) / nullif(sum(p.redeemers), 0) as any_type
    from campaigns c
    join past_windows p on {{ before_as_of('p.end_date', 'c.start_date') }}
    group by 1
),

overall_discount as (
    select c.campaign_id, avg(l.discount) as mean_discount
    from campaigns c
    join coupon_lines l on {{ before_as_of('l.transaction_date', 'c.start_date') }}
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
    cast(greatest(1.0, coalesce(lr.same_type, lr.any_type, 1.0)) as double) as lines_per_redeemer,
    coalesce(md.main_department, 'UNKNOWN')               as main_department,
    coalesce(r.n_recipients, 0)                           as n_recipients
from campaigns c
left join coupon_products cp using (campaign_id)
left join campaign_discount cd using (campaign_id)
left join overall_discount od using (campaign_id)
left join recipients r using (campaign_id)
left join main_department md using (campaign_id)
left join lines_per_redeemer lr using (campaign_id)
