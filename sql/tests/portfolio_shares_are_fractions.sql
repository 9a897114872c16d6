-- Rule: in fct_portfolio_month the share of borrowers with an open warning is between 0 and 1,
-- and no count exceeds the month's borrowers.
select month_end, nace_section, borrowers, borrowers_with_revenue_t12m,
    borrowers_with_open_warning, share_with_open_warning
from {{ ref('symetrisk__fct_portfolio_month') }}
where share_with_open_warning not between 0 and 1
    or borrowers_with_open_warning > borrowers
    or borrowers_with_revenue_t12m > borrowers
