-- fct_covenant_tests: one row per covenant (seed covenants.csv) and month end of its borrower
-- within the covenant's validity (valid_from to valid_to, open-ended when valid_to is empty):
-- the metric's value that month, the headroom and whether it was breached.
--   headroom: how far the value is on the allowed side of the threshold, in the metric's unit:
--     value − threshold for a floor (> or >=), threshold − value for a ceiling (< or <=);
--     negative when breached; null when the value is unknown that month.
--   breached: the value is not on the allowed side (e.g. equity_ratio >= 0.25 and the value
--     is 0.21); null when the value is unknown.
{{ config(alias=symetrisk_credit_trends.own_alias()) }}
with covenants as (
    select
        cast(organization_number as {{ dbt.type_string() }}) as organization_number,
        metric,
        comparison,
        cast(threshold as {{ double_type() }}) as threshold,
        cast(valid_from as date) as valid_from,
        cast(valid_to as date) as valid_to
    from {{ ref('symetrisk__stg_covenants') }}
)

select
    c.organization_number,
    m.month_end,
    m.month_number,
    c.metric,
    c.comparison,
    c.threshold,
    c.valid_from,
    c.valid_to,
    v.value,
    case
        when c.comparison in ('>', '>=') then v.value - c.threshold
        else c.threshold - v.value
    end as headroom,
    case when v.value is not null then not (
        (c.comparison = '<' and v.value < c.threshold)
        or (c.comparison = '<=' and v.value <= c.threshold)
        or (c.comparison = '>' and v.value > c.threshold)
        or (c.comparison = '>=' and v.value >= c.threshold)
    ) end as breached
from covenants as c
inner join {{ ref('symetrisk__fct_borrower_month') }} as m
    on m.organization_number = c.organization_number
    and m.month_end >= c.valid_from
    and (c.valid_to is null or m.month_end <= c.valid_to)
left join {{ ref('symetrisk__int_borrower_metrics') }} as v
    on v.organization_number = c.organization_number
    and v.month_end = m.month_end
    and v.metric = c.metric
