-- Household x campaign as of the campaign's start S. Grain: one row per (household_id,
-- campaign_id) for the campaigns of as_of_dates: every household with a purchase before S
-- (the scoring universe) and every household the retailer sent the campaign (the training
-- universe; their send is not a feature). Columns: the household's features as of S, the
-- campaign's facts fixed at sending (type, duration, coupons, products, planned size, expected
-- discount), and the household's affinity to the campaign's coupon products, from transactions
-- dated before S (macros/point_in_time.sql; the 30- and 90-day windows are the days 1..30 and
-- 1..90 before S). Campaigns starting on the same day do not see each other. Demographics come
-- from the demographics snapshot version current as of S (snapshot_as_of), never the latest.
-- Incremental: the rows of a date are final once the retailer's sends of S (dated S) have
-- landed (sends_landed); a build (re)computes only the dates that are not final yet.
-- Cost: the affinity joins each campaign's distinct products (not one row per coupon a product
-- sits under) to the lines before S once, groups them by (basket, product), and derives every
-- count from groups of those rows, where it used to take eight distinct aggregates and a
-- distinct over the line-by-coupon join. It still reads each line once per campaign that covers
-- its product: a catch-up of many campaigns grows with campaigns x history (distinct baskets
-- over a campaign's products do not add up across products, so no per-product running table
-- can answer them); an incremental day computes only its own campaigns.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='as_of_date',
    on_schema_change='fail',
) }}

with offers as (
    select c.campaign_id, c.start_date as as_of_date, c.campaign_type, c.main_department,
           c.duration_days, c.n_coupons,
           c.n_products, c.planned_size, c.expected_discount,
           d.as_of_date <= d.last_landed as sends_landed
    from {{ ref('campaigns') }} c
    join {{ ref('as_of_dates') }} d on d.as_of_date = c.start_date
    {% if is_incremental() %}
    where c.start_date not in (select as_of_date from {{ this }} where sends_landed)
    {% endif %}
),

pairs as (
    select o.as_of_date, f.household_id, o.campaign_id
    from offers o
    join {{ ref('household_features') }} f on f.as_of_date = o.as_of_date
    union
    select o.as_of_date, s.household_id, o.campaign_id
    from offers o
    join {{ ref('stg_campaigns') }} s using (campaign_id)
),

campaign_products as (
    select distinct o.as_of_date, o.campaign_id, c.coupon_upc, c.product_id
    from offers o
    join {{ ref('stg_coupons') }} c using (campaign_id)
),

offer_products as (
    -- each product once per campaign (a product can sit under several of its coupons)
    select distinct as_of_date, campaign_id, product_id from campaign_products
),

affinity_products as (
    -- the household's lines before S on the campaign's products, one row per (basket, product):
    -- the join reads each line once per campaign that covers it, and every feature below is a
    -- plain count or sum over these rows or their groups (no distinct aggregate over the lines).
    -- A basket is one day, so its age is one value. Spend counts each distinct amount of a
    -- (basket, product) once, as the features always have (sum of the distinct lines).
    select op.as_of_date, op.campaign_id, t.household_id, t.basket_id, t.product_id,
           min({{ days_before('t.transaction_date', 'op.as_of_date') }}) as age_days,
           bool_or(t.coupon_disc > 0)                            as has_coupon_line,
           sum(distinct t.sales_value)                           as spend  -- decimals: exact in any order
    from offer_products op
    join {{ ref('stg_transactions') }} t
      on t.product_id = op.product_id and {{ before_as_of('t.transaction_date', 'op.as_of_date') }}
    group by 1, 2, 3, 4, 5
),

affinity_baskets as (
    select as_of_date, campaign_id, household_id,
           count(*)                                                          as aff_baskets_all,
           count(*) filter (where {{ within_days('age_days', 90) }})         as aff_baskets_90d,
           count(*) filter (where has_coupon_line)                           as aff_coupon_baskets_all,
           cast(sum(spend) as double)                                        as aff_spend_all,
           cast(coalesce(sum(spend) filter (where {{ within_days('age_days', 90) }}), 0) as double) as aff_spend_90d
    from (select as_of_date, campaign_id, household_id, basket_id, min(age_days) as age_days,
                 bool_or(has_coupon_line) as has_coupon_line, sum(spend) as spend
          from affinity_products group by 1, 2, 3, 4)
    group by 1, 2, 3
),

product_ages as (
    -- the days since the household last bought each of the campaign's products
    select as_of_date, campaign_id, household_id, product_id, min(age_days) as age_days
    from affinity_products
    group by 1, 2, 3, 4
),

affinity_items as (
    select as_of_date, campaign_id, household_id,
           count(*)                                                          as aff_products_all,
           count(*) filter (where {{ within_days('age_days', 90) }})         as aff_products_90d,
           count(*) filter (where {{ within_days('age_days', 30) }})         as aff_products_30d
    from product_ages
    group by 1, 2, 3
),

affinity_coupons as (
    select as_of_date, campaign_id, household_id,
           count(*)                                                          as aff_coupons_touched_all,
           count(*) filter (where {{ within_days('age_days', 90) }})         as aff_coupons_touched_90d
    from (select pa.as_of_date, pa.campaign_id, pa.household_id, cp.coupon_upc, min(pa.age_days) as age_days
          from product_ages pa
          join campaign_products cp using (as_of_date, campaign_id, product_id)
          group by 1, 2, 3, 4)
    group by 1, 2, 3
),

same_coupon as (
    -- the campaign's coupons that the household redeemed before S (in earlier campaigns)
    select cp.as_of_date, cp.campaign_id, r.household_id, count(distinct r.coupon_upc) as same_coupons_redeemed
    from (select distinct as_of_date, campaign_id, coupon_upc from campaign_products) cp
    join {{ ref('stg_coupon_redemptions') }} r
      on r.coupon_upc = cp.coupon_upc and {{ before_as_of('r.redemption_date', 'cp.as_of_date') }}
    group by 1, 2, 3
)

select
    p.household_id,
    p.campaign_id,
    p.as_of_date,
    o.campaign_type,
    o.main_department,
    o.duration_days,
    o.n_coupons,
    o.n_products,
    o.planned_size,
    o.expected_discount,
    o.sends_landed,
    f.household_id is not null                                       as has_purchase_history,
    f.* exclude (household_id, as_of_date),
    coalesce(i.aff_products_all, 0)                                  as aff_products_all,
    coalesce(i.aff_products_90d, 0)                                  as aff_products_90d,
    coalesce(i.aff_products_30d, 0)                                  as aff_products_30d,
    coalesce(b.aff_baskets_all, 0)                                   as aff_baskets_all,
    coalesce(b.aff_baskets_90d, 0)                                   as aff_baskets_90d,
    coalesce(k.aff_coupons_touched_all, 0)                           as aff_coupons_touched_all,
    coalesce(k.aff_coupons_touched_90d, 0)                           as aff_coupons_touched_90d,
    coalesce(b.aff_coupon_baskets_all, 0)                            as aff_coupon_baskets_all,
    coalesce(b.aff_spend_all, 0)                                     as aff_spend_all,
    coalesce(b.aff_spend_90d, 0)                                     as aff_spend_90d,
    coalesce(b.aff_spend_all / nullif(f.spend_per_week_all * f.history_days / 7.0, 0), 0) as aff_spend_share_all,
    coalesce(i.aff_products_all, 0) / greatest(o.n_products, 1)     as aff_products_share,
    coalesce(k.aff_coupons_touched_all, 0) / greatest(o.n_coupons, 1) as aff_coupons_touched_share,
    coalesce(c.same_coupons_redeemed, 0)                             as same_coupons_redeemed,
    dm.household_id is not null                                      as has_demographics,
    dm.age, dm.income, dm.home_ownership, dm.marital_status, dm.household_size, dm.household_comp, dm.kids_count
from pairs p
join offers o using (as_of_date, campaign_id)
left join {{ ref('household_features') }} f using (as_of_date, household_id)
left join affinity_items i using (as_of_date, campaign_id, household_id)
left join affinity_baskets b using (as_of_date, campaign_id, household_id)
left join affinity_coupons k using (as_of_date, campaign_id, household_id)
left join same_coupon c using (as_of_date, campaign_id, household_id)
-- demographics: the snapshot version current as of S (on S - 1), as for the campaign's coupons
-- and description; a plain equality plus range comparisons, so the join stays a hash join
left join {{ ref('stg_demographics') }} dm
  on dm.household_id = p.household_id and {{ snapshot_as_of('dm', 'p.as_of_date') }}
