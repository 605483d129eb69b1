-- Household behaviour as of a date. Grain: one row per (household_id, as_of_date) for every
-- household with at least one purchase before as_of_date. Point in time (macros/point_in_time.sql):
-- only transactions dated before as_of_date (timestamp < as_of_date 00:00), redemptions dated
-- before it, and campaigns that started before it; the 30- and 90-day windows are the days
-- 1..30 and 1..90 before it. Rates are per week so that they compare across dates; a window
-- longer than the landed history is divided by the history it really covers.
-- Incremental: rows for a date never change once written (the days before it are immutable),
-- so a build only appends the new as_of_dates.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='as_of_date',
    on_schema_change='fail',
) }}

{% set departments = feature_departments() %}

with dates as (
    select as_of_date, first_landed
    from {{ ref('as_of_dates') }}
    {% if is_incremental() %}
    where as_of_date > (select coalesce(max(as_of_date), date '1900-01-01') from {{ this }})
    {% endif %}
),

days as (
    -- the compact history (int_household_days): one row per household and shopping day before S
    select
        d.as_of_date,
        datediff('day', d.first_landed, d.as_of_date) as history_days,
        {{ days_before('h.transaction_date', 'd.as_of_date') }} as age_days,
        h.*
    from dates d
    join {{ ref('int_household_days') }} h on {{ before_as_of('h.transaction_date', 'd.as_of_date') }}
),

day_features as (
    -- sums over the days: exact decimals and integers, cast to double only in the final select
    select
        as_of_date, household_id,
        any_value(history_days)                                                         as history_days,
        min(age_days)                                                                   as days_since_last_purchase,
        max(age_days)                                                                   as days_since_first_purchase,
        cast(coalesce(sum(baskets) filter (where {{ within_days('age_days', 30) }}), 0) as bigint) as baskets_30d,
        cast(coalesce(sum(baskets) filter (where {{ within_days('age_days', 90) }}), 0) as bigint) as baskets_90d,
        cast(sum(baskets) as bigint)                                                    as baskets_all,
        cast(sum(coupon_baskets) as bigint)                                             as coupon_baskets_all,
        coalesce(sum(spend) filter (where {{ within_days('age_days', 30) }}), 0)        as spend_30d,
        coalesce(sum(spend) filter (where {{ within_days('age_days', 90) }}), 0)        as spend_90d,
        sum(spend)                                                                      as spend_all,
        sum(retail_disc)                                                                as retail_disc_all,
        cast(sum(coupon_lines) as bigint)                                               as coupon_lines_all,
        cast(coalesce(sum(coupon_lines) filter (where {{ within_days('age_days', 90) }}), 0) as bigint) as coupon_lines_90d,
        sum(coupon_discount)                                                            as coupon_discount_all,
        sum(private_label_spend)                                                        as private_label_spend_all,
        {% for dep in departments %}
        sum(spend_{{ dep | lower | replace(' ', '_') }})                                as spend_all_{{ dep | lower | replace(' ', '_') }},
        {% endfor %}
        sum(spend_other)                                                                as spend_all_other
    from days
    group by 1, 2
),

first_days as (
    -- the items (int_household_firsts) a household first bought on each day, counted per kind
    -- once per build, so that the join with the as-of dates reads one row per household and day
    select
        household_id, first_date,
        count(*) filter (where item_kind = 'store')                                     as new_stores,
        count(*) filter (where item_kind = 'product')                                   as new_products,
        count(*) filter (where item_kind = 'department')                                as new_departments
    from {{ ref('int_household_firsts') }}
    group by 1, 2
),

firsts as (
    -- all-time distinct counts: the items first bought before S
    select
        d.as_of_date, f.household_id,
        cast(sum(f.new_stores) as bigint)                                               as n_stores,
        cast(sum(f.new_products) as bigint)                                             as n_products_all,
        cast(sum(f.new_departments) as bigint)                                          as n_departments
    from dates d
    join first_days f on {{ before_as_of('f.first_date', 'd.as_of_date') }}
    group by 1, 2
),

recent_products as (
    -- distinct products of the 90-day window: the window's basket lines only (a range join)
    select d.as_of_date, t.household_id, count(distinct t.product_id) as n_products_90d
    from dates d
    join {{ ref('stg_transactions') }} t
      on {{ before_as_of('t.transaction_date', 'd.as_of_date') }}
     and {{ on_or_after_days_before('t.transaction_date', 'd.as_of_date', 90) }}
    group by 1, 2
),

sends as (
    select s.household_id, s.campaign_id, c.campaign_type, c.start_date
    from {{ ref('stg_campaigns') }} s
    join {{ ref('stg_campaign_descriptions') }} c using (campaign_id)
),

history as (
    -- campaigns received before as_of_date, and how many of them the household had redeemed
    -- (int_window_redemptions: inside the window) by a redemption dated before as_of_date
    select
        d.as_of_date, s.household_id,
        count(*)                                                as campaigns_received,
        count(*) filter (where s.campaign_type = 'Type A')      as campaigns_received_type_a,
        count(*) filter (where s.campaign_type = 'Type B')      as campaigns_received_type_b,
        count(*) filter (where s.campaign_type = 'Type C')      as campaigns_received_type_c,
        count(*) filter (where {{ before_as_of('w.first_redemption_date', 'd.as_of_date') }}) as campaigns_redeemed
    from dates d
    join sends s on {{ before_as_of('s.start_date', 'd.as_of_date') }}
    left join {{ ref('int_window_redemptions') }} w
      on w.household_id = s.household_id and w.campaign_id = s.campaign_id
    group by 1, 2
),

redemptions as (
    select
        d.as_of_date, r.household_id,
        count(*)                                                as redemptions_all,
        count(*) filter (where {{ within_days(days_before('r.redemption_date', 'd.as_of_date'), 90) }}) as redemptions_90d,
        min({{ days_before('r.redemption_date', 'd.as_of_date') }}) as days_since_last_redemption
    from dates d
    join {{ ref('stg_coupon_redemptions') }} r on {{ before_as_of('r.redemption_date', 'd.as_of_date') }}
    group by 1, 2
)

select
    b.household_id,
    b.as_of_date,
    b.history_days,
    b.days_since_last_purchase,
    b.days_since_first_purchase,
    b.baskets_30d,
    b.baskets_90d,
    b.baskets_all,
    b.baskets_30d / (least(30, b.history_days) / 7.0)                          as baskets_per_week_30d,
    b.baskets_90d / (least(90, b.history_days) / 7.0)                          as baskets_per_week_90d,
    b.baskets_all / (b.history_days / 7.0)                                     as baskets_per_week_all,
    cast(b.spend_30d as double) / (least(30, b.history_days) / 7.0)            as spend_per_week_30d,
    cast(b.spend_90d as double) / (least(90, b.history_days) / 7.0)            as spend_per_week_90d,
    cast(b.spend_all as double) / (b.history_days / 7.0)                       as spend_per_week_all,
    cast(b.spend_90d as double)                                                as spend_90d,
    cast(b.spend_90d as double) / nullif(b.baskets_90d, 0)                     as avg_basket_value_90d,
    cast(b.spend_all as double) / b.baskets_all                                as avg_basket_value_all,
    b.coupon_baskets_all / b.baskets_all::double                               as share_baskets_with_coupon,
    coalesce(f.n_stores, 0)                                                    as n_stores,
    coalesce(p.n_products_90d, 0)                                              as n_products_90d,
    coalesce(f.n_products_all, 0)                                              as n_products_all,
    coalesce(f.n_departments, 0)                                               as n_departments,
    b.coupon_lines_all,
    b.coupon_lines_90d,
    cast(b.coupon_discount_all as double)                                      as coupon_discount_all,
    coalesce(cast(b.retail_disc_all as double) / nullif(cast(b.spend_all + b.retail_disc_all as double), 0), 0)
                                                                               as retail_disc_share,
    coalesce(cast(b.private_label_spend_all as double) / nullif(cast(b.spend_all as double), 0), 0)
                                                                               as private_label_share,
    {% for dep in departments %}
    coalesce(cast(b.spend_all_{{ dep | lower | replace(' ', '_') }} as double) / nullif(cast(b.spend_all as double), 0), 0)
        as dept_share_{{ dep | lower | replace(' ', '_') }},
    {% endfor %}
    coalesce(cast(b.spend_all_other as double) / nullif(cast(b.spend_all as double), 0), 0) as dept_share_other,
    coalesce(h.campaigns_received, 0)                          as campaigns_received,
    coalesce(h.campaigns_received_type_a, 0)                   as campaigns_received_type_a,
    coalesce(h.campaigns_received_type_b, 0)                   as campaigns_received_type_b,
    coalesce(h.campaigns_received_type_c, 0)                   as campaigns_received_type_c,
    coalesce(h.campaigns_redeemed, 0)                          as campaigns_redeemed,
    coalesce(r.redemptions_all, 0)                             as redemptions_all,
    coalesce(r.redemptions_90d, 0)                             as redemptions_90d,
    r.days_since_last_redemption,
    r.days_since_last_redemption is null                       as never_redeemed
from day_features b
left join firsts f using (as_of_date, household_id)
left join recent_products p using (as_of_date, household_id)
left join history h using (as_of_date, household_id)
left join redemptions r using (as_of_date, household_id)
