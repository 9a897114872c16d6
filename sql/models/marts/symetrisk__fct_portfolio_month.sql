-- fct_portfolio_month: the portfolio per month end and NACE section (industry).
--   borrowers: borrowers with a snapshot that month;
--   borrowers_with_revenue_t12m: of those, how many have a known revenue_t12m;
--   revenue_t12m: the sum of their revenue_t12m (borrowers with an unknown one left out;
--     null when none is known);
--   median_equity_ratio: the median of their equity_ratio (unknown ones left out);
--   borrowers_monitored: borrowers monitored that month (int_monitoring_spells: consent held,
--     and a snapshot that month or in the var('stale_data_months') months before it); the
--     denominator of every share below;
--   borrowers_with_open_warning / share_with_open_warning: how many (and what fraction) of the
--     monitored borrowers are under an open warning episode that month (fct_warning_episodes:
--     opened in or before the month, not closed by it), at any severity;
--   borrowers_on_watchlist / share_on_watchlist: the same for episodes at act by that month;
--   borrowers_out_of_sight: borrowers not monitored that month under an open stale_data or
--     consent_revoked episode (the bank has lost sight of their books; in no share above).
-- A borrower whose NACE section is unknown counts under 'unknown'.
{{ config(alias=symetrisk_credit_trends.own_alias()) }}
with calendar as (
    select distinct month_number, month_end from {{ ref('symetrisk__fct_borrower_month') }}
),

episodes as (
    select * from {{ ref('symetrisk__fct_warning_episodes') }}
),

-- every month of every spell of monitoring
monitored as (
    select p.organization_number, c.month_end
    from {{ ref('symetrisk__int_monitoring_spells') }} as p
    inner join calendar as c
        on c.month_number >= p.monitored_from_number
        and c.month_number < coalesce(p.monitoring_ended_number, p.as_of_number + 1)
),

out_of_sight as (
    select distinct e.organization_number, c.month_end
    from episodes as e
    inner join calendar as c
        on c.month_end >= e.opened_month
        and (e.closed_month is null or c.month_end < e.closed_month)
    where e.flag in ('stale_data', 'consent_revoked')
),

keys as (
    select distinct organization_number, month_end
    from (
        select organization_number, month_end from {{ ref('symetrisk__fct_borrower_month') }}
        union all
        select organization_number, month_end from monitored
        union all
        select organization_number, month_end from out_of_sight
    ) as k
),

months as (
    select
        k.organization_number,
        k.month_end,
        case when r.organization_number is not null then 1 else 0 end as reported,
        r.revenue_t12m,
        r.equity_ratio,
        case when m.organization_number is not null then 1 else 0 end as is_monitored,
        case when m.organization_number is null and o.organization_number is not null
            then 1 else 0 end as is_out_of_sight,
        coalesce(d.nace_section, 'unknown') as nace_section
    from keys as k
    left join {{ ref('symetrisk__fct_borrower_month') }} as r
        on r.organization_number = k.organization_number and r.month_end = k.month_end
    left join monitored as m
        on m.organization_number = k.organization_number and m.month_end = k.month_end
    left join out_of_sight as o
        on o.organization_number = k.organization_number and o.month_end = k.month_end
    left join {{ ref('symetrisk__dim_borrower') }} as d on d.organization_number = k.organization_number
),

under as (
    select
        m.organization_number,
        m.month_end,
        max(case when e.organization_number is not null then 1 else 0 end) as open_warning,
        max(case when e.act_month <= m.month_end then 1 else 0 end) as on_watchlist
    from months as m
    inner join episodes as e
        on e.organization_number = m.organization_number
        and e.opened_month <= m.month_end
        and (e.closed_month is null or e.closed_month > m.month_end)
    where m.is_monitored = 1
    group by m.organization_number, m.month_end
)

select
    m.month_end,
    m.nace_section,
    sum(m.reported) as borrowers,
    count(m.revenue_t12m) as borrowers_with_revenue_t12m,
    sum(m.revenue_t12m) as revenue_t12m,
    {{ median_of('m.equity_ratio') }} as median_equity_ratio,
    sum(m.is_monitored) as borrowers_monitored,
    coalesce(sum(u.open_warning), 0) as borrowers_with_open_warning,
    cast(coalesce(sum(u.open_warning), 0) as {{ double_type() }})
        / nullif(sum(m.is_monitored), 0) as share_with_open_warning,
    coalesce(sum(u.on_watchlist), 0) as borrowers_on_watchlist,
    cast(coalesce(sum(u.on_watchlist), 0) as {{ double_type() }})
        / nullif(sum(m.is_monitored), 0) as share_on_watchlist,
    sum(m.is_out_of_sight) as borrowers_out_of_sight
from months as m
left join under as u
    on u.organization_number = m.organization_number and u.month_end = m.month_end
group by m.month_end, m.nace_section
