-- Which products each coupon of a campaign covers; the source repeats rows, kept once here.
-- From the coupons snapshot version current as of the campaign's start date (snapshot_as_of), the
-- one its decision reads; a campaign without a description keeps the latest version's rows (its
-- relationship test names it).
with versions as (
    {% call snapshot_staging(source('lake', 'coupons'), distinct=true) -%}
        cast(s.coupon_upc as bigint)  as coupon_upc,
        cast(s.product_id as bigint)  as product_id,
        cast(s.campaign_id as bigint) as campaign_id
    {%- endcall %}
)

select v.coupon_upc, v.product_id, v.campaign_id, v.snapshot_version, v.valid_from, v.valid_to
from versions v
left join {{ ref('stg_campaign_descriptions') }} c using (campaign_id)
where case when c.campaign_id is null then v.valid_to is null else {{ snapshot_as_of('v', 'c.start_date') }} end
