-- fct_portfolio_month: the portfolio per month end and NACE section (industry).
--   borrowers: borrowers with a snapshot that month;
--   borrowers_with_revenue_t12m: of those, how many have a known revenue_t12m;
--   revenue_t12m: the sum of their revenue_t12m (borrowers with an unknown one left out;
--     null when none is known);
--   median_equity_ratio: the median of their equity_ratio (unknown ones left out);
--   borrowers_with_open_warning / share_with_open_warning: how many (and what fraction) of the
--     month's borrowers are under an open warning episode that month (fct_warning_episodes:
--     opened in or before the month, not closed by it), at any severity;
--   borrowers_on_watchlist / share_on_watchlist: the same for episodes at act by that month.
-- A borrower whose NACE section is unknown counts under 'unknown'.
{{ config(alias=symetrisk_credit_trends.own_alias()) }}
with months as (
    select
        m.organization_number,
        m.month_end,
        m.revenue_t12m,
        m.equity_ratio,
        coalesce(d.nace_section, 'unknown') as nace_section
    from {{ ref('symetrisk__fct_borrower_month') }} as m
    left join {{ ref('symetrisk__dim_borrower') }} as d on d.organization_number = m.organization_number
),

under as (
    select
        m.organization_number,
        m.month_end,
        max(case when e.organization_number is not null then 1 else 0 end) as open_warning,
        max(case when e.act_month <= m.month_end then 1 else 0 end) as on_watchlist
    from months as m
    inner join {{ ref('symetrisk__fct_warning_episodes') }} as e
        on e.organization_number = m.organization_number
        and e.opened_month <= m.month_end
        and (e.closed_month is null or e.closed_month > m.month_end)
    group by m.organization_number, m.month_end
)

select
    m.month_end,
    m.nace_section,
    count(*) as borrowers,
    count(m.revenue_t12m) as borrowers_with_revenue_t12m,
    sum(m.revenue_t12m) as revenue_t12m,
    {{ median_of('m.equity_ratio') }} as median_equity_ratio,
    coalesce(sum(u.open_warning), 0) as borrowers_with_open_warning,
    cast(coalesce(sum(u.open_warning), 0) as {{ double_type() }}) / count(*)
        as share_with_open_warning,
    coalesce(sum(u.on_watchlist), 0) as borrowers_on_watchlist,
    cast(coalesce(sum(u.on_watchlist), 0) as {{ double_type() }}) / count(*)
        as share_on_watchlist
from months as m
left join under as u
    on u.organization_number = m.organization_number and u.month_end = m.month_end
group by m.month_end, m.nace_section
