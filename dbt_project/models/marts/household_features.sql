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

{% set departments = ['GROCERY', 'DRUG GM', 'PRODUCE', 'MEAT', 'DELI', 'FUEL', 'PASTRY'] %}

with dates as (
    select as_of_date, first_landed
    from {{ ref('as_of_dates') }}
    {% if is_incremental() %}
    where as_of_date > (select coalesce(max(as_of_date), date '1900-01-01') from {{ this }})
    {% endif %}
),

lines as (
    select
        d.as_of_date,
        datediff('day', d.first_landed, d.as_of_date) as history_days,
        {{ days_before('t.transaction_date', 'd.as_of_date') }} as age_days,
        t.household_id, t.basket_id, t.store_id, t.product_id,
        cast(t.sales_value as double) as sales_value,
        cast(t.retail_disc as double) as retail_disc,
        cast(t.coupon_disc + t.coupon_match_disc as double) as coupon_discount,
        t.coupon_disc > 0 as is_coupon_line,
        coalesce(p.is_private_label, false) as is_private_label,
        case when p.department in ('MEAT', 'MEAT-PCKGD') then 'MEAT' else p.department end as department
    from dates d
    join {{ ref('stg_transactions') }} t on {{ before_as_of('t.transaction_date', 'd.as_of_date') }}
    left join {{ ref('products') }} p using (product_id)
),

basket_level as (
    select as_of_date, household_id, basket_id,
           any_value(history_days) as history_days,
           min(age_days) as age_days,
           sum(sales_value) as basket_value,
           bool_or(is_coupon_line) as has_coupon
    from lines
    group by 1, 2, 3
),

basket_features as (
    select
        as_of_date, household_id,
        any_value(history_days)                                         as history_days,
        min(age_days)                                                   as days_since_last_purchase,
        max(age_days)                                                   as days_since_first_purchase,
        count(*) filter (where {{ within_days('age_days', 30) }})                          as baskets_30d,
        count(*) filter (where {{ within_days('age_days', 90) }})                          as baskets_90d,
        count(*)                                                        as baskets_all,
        coalesce(sum(basket_value) filter (where {{ within_days('age_days', 30) }}), 0)    as spend_30d,
        coalesce(sum(basket_value) filter (where {{ within_days('age_days', 90) }}), 0)    as spend_90d,
        sum(basket_value)                                               as spend_all,
        avg(basket_value) filter (where {{ within_days('age_days', 90) }})                 as avg_basket_value_90d,
        avg(basket_value)                                               as avg_basket_value_all,
        avg(case when has_coupon then 1.0 else 0.0 end)                 as share_baskets_with_coupon
    from basket_level
    group by 1, 2
),

line_features as (
    select
        as_of_date, household_id,
        count(distinct store_id)                                        as n_stores,
        count(distinct product_id) filter (where {{ within_days('age_days', 90) }})        as n_products_90d,
        count(distinct product_id)                                      as n_products_all,
        count(distinct department)                                      as n_departments,
        count(*) filter (where is_coupon_line)                          as coupon_lines_all,
        count(*) filter (where is_coupon_line and {{ within_days('age_days', 90) }})       as coupon_lines_90d,
        coalesce(sum(coupon_discount) filter (where is_coupon_line), 0) as coupon_discount_all,
        coalesce(sum(retail_disc) / nullif(sum(sales_value + retail_disc), 0), 0) as retail_disc_share,
        coalesce(sum(sales_value) filter (where is_private_label) / nullif(sum(sales_value), 0), 0)
                                                                        as private_label_share,
        {% for dep in departments %}
        coalesce(sum(sales_value) filter (where department = '{{ dep }}') / nullif(sum(sales_value), 0), 0)
            as dept_share_{{ dep | lower | replace(' ', '_') }},
        {% endfor %}
        coalesce(sum(sales_value) filter (where department is null or department not in
            ('{{ departments | join("', '") }}')) / nullif(sum(sales_value), 0), 0) as dept_share_other
    from lines
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
    b.baskets_30d / (least(30, b.history_days) / 7.0)          as baskets_per_week_30d,
    b.baskets_90d / (least(90, b.history_days) / 7.0)          as baskets_per_week_90d,
    b.baskets_all / (b.history_days / 7.0)                     as baskets_per_week_all,
    b.spend_30d / (least(30, b.history_days) / 7.0)            as spend_per_week_30d,
    b.spend_90d / (least(90, b.history_days) / 7.0)            as spend_per_week_90d,
    b.spend_all / (b.history_days / 7.0)                       as spend_per_week_all,
    b.spend_90d,
    b.avg_basket_value_90d,
    b.avg_basket_value_all,
    b.share_baskets_with_coupon,
    l.n_stores,
    l.n_products_90d,
    l.n_products_all,
    l.n_departments,
    l.coupon_lines_all,
    l.coupon_lines_90d,
    l.coupon_discount_all,
    l.retail_disc_share,
    l.private_label_share,
    {% for dep in departments %}
    l.dept_share_{{ dep | lower | replace(' ', '_') }},
    {% endfor %}
    l.dept_share_other,
    coalesce(h.campaigns_received, 0)                          as campaigns_received,
    coalesce(h.campaigns_received_type_a, 0)                   as campaigns_received_type_a,
    coalesce(h.campaigns_received_type_b, 0)                   as campaigns_received_type_b,
    coalesce(h.campaigns_received_type_c, 0)                   as campaigns_received_type_c,
    coalesce(h.campaigns_redeemed, 0)                          as campaigns_redeemed,
    coalesce(r.redemptions_all, 0)                             as redemptions_all,
    coalesce(r.redemptions_90d, 0)                             as redemptions_90d,
    r.days_since_last_redemption,
    r.days_since_last_redemption is null                       as never_redeemed
from basket_features b
join line_features l using (as_of_date, household_id)
left join history h using (as_of_date, household_id)
left join redemptions r using (as_of_date, household_id)
