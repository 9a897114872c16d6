-- fct_borrower_trend: one row per borrower, at its newest month: where its credit stands and how
-- it moved over the last 12 calendar months.
--
-- *_change_12m: the value at the newest month minus the value 12 calendar months earlier (in
--   the value's own unit: NOK for revenue_t12m, a fraction for margins and ratios, points for
--   altman_z); null when either is unknown or that earlier month has no snapshot.
-- revenue_slope_12m: the least-squares slope of monthly operating_revenue against the month
--   number over the 12 calendar months ending at the newest month, in NOK per month; null
--   unless all 12 months are present with a value.
-- months_of_history: how many months have a snapshot (first_month_end to month_end).
-- months_since_newest_snapshot: calendar months from the borrower's newest snapshot to the
--   portfolio's newest month (the as-of month of fct_early_warnings' stale_data); 0 = current.
-- credit_score: the newest credit score (by calculated_at), where one exists;
--   credit_score_change: that score minus the one calculated before it.
{{ config(alias=symetrisk_credit_trends.own_alias()) }}
with months as (
    select * from {{ ref('symetrisk__fct_borrower_month') }}
),

newest as (
    select *
    from (
        select
            *,
            count(*) over (partition by organization_number) as months_of_history,
            min(month_end) over (partition by organization_number) as first_month_end,
            max(month_number) over () as as_of_month_number,
            row_number() over (
                partition by organization_number order by month_number desc
            ) as newest_rank
        from months
    ) as ranked
    where newest_rank = 1
),

revenue_slope as (
    select
        m.organization_number,
        case when count(m.operating_revenue) = 12
            then covar_pop(m.operating_revenue, m.month_number) / var_pop(m.month_number)
        end as revenue_slope_12m
    from months as m
    inner join newest as n
        on n.organization_number = m.organization_number
        and m.month_number between n.month_number - 11 and n.month_number
    group by m.organization_number
),

scores as (
    select
        organization_number,
        credit_score,
        risk_class,
        probability_of_default,
        calculated_at,
        lag(credit_score) over (
            partition by organization_number order by calculated_at
        ) as previous_credit_score,
        lag(calculated_at) over (
            partition by organization_number order by calculated_at
        ) as previous_score_calculated_at,
        row_number() over (
            partition by organization_number order by calculated_at desc nulls last
        ) as score_rank
    from {{ ref('symetrisk__stg_credit_scores') }}
)

select
    n.organization_number,
    n.month_end,
    n.first_month_end,
    n.months_of_history,
    n.as_of_month_number - n.month_number as months_since_newest_snapshot,
    n.revenue_t12m,
    n.revenue_t12m - y.revenue_t12m as revenue_t12m_change_12m,
    n.revenue_growth_yoy,
    n.ebitda_margin_t12m,
    n.ebitda_margin_t12m - y.ebitda_margin_t12m as ebitda_margin_t12m_change_12m,
    n.equity_ratio,
    n.equity_ratio - y.equity_ratio as equity_ratio_change_12m,
    n.altman_z,
    n.altman_z - y.altman_z as altman_z_change_12m,
    n.altman_zone,
    r.revenue_slope_12m,
    s.credit_score,
    s.risk_class,
    s.probability_of_default,
    s.calculated_at as score_calculated_at,
    s.credit_score - s.previous_credit_score as credit_score_change,
    s.previous_score_calculated_at
from newest as n
left join months as y
    on y.organization_number = n.organization_number and y.month_number = n.month_number - 12
left join revenue_slope as r on r.organization_number = n.organization_number
left join scores as s on s.organization_number = n.organization_number and s.score_rank = 1
