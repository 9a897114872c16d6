-- fct_portfolio_month: the portfolio per month end and NACE section (industry).
--   borrowers: borrowers with a snapshot that month;
--   borrowers_with_revenue_t12m: of those, how many have a known revenue_t12m;
--   revenue_t12m: the sum of their revenue_t12m (borrowers with an unknown one left out;
--     null when none is known);
--   median_equity_ratio: the median of their equity_ratio (unknown ones left out);
--   borrowers_with_open_warning / share_with_open_warning: how many (and what fraction) of the
--     month's borrowers have a row in fct_early_warnings for that month (see that model for
--     when a flag counts for a month).
-- A borrower whose NACE section is unknown counts under 'unknown'.
with warned as (
    select distinct organization_number, month_end
    from {{ ref('fct_early_warnings') }}
)

select
    m.month_end,
    coalesce(d.nace_section, 'unknown') as nace_section,
    count(*) as borrowers,
    count(m.revenue_t12m) as borrowers_with_revenue_t12m,
    sum(m.revenue_t12m) as revenue_t12m,
    {{ median_of('m.equity_ratio') }} as median_equity_ratio,
    count(w.organization_number) as borrowers_with_open_warning,
    cast(count(w.organization_number) as {{ double_type() }}) / count(*) as share_with_open_warning
from {{ ref('fct_borrower_month') }} as m
left join {{ ref('dim_borrower') }} as d on d.organization_number = m.organization_number
left join warned as w
    on w.organization_number = m.organization_number and w.month_end = m.month_end
group by m.month_end, coalesce(d.nace_section, 'unknown')
