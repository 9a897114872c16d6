-- Rule: in fct_portfolio_month the shares of the monitored borrowers with an open warning and
-- on the watchlist are between 0 and 1 (null only when none is monitored), no count of them
-- exceeds the month's monitored borrowers, and no count of figures the borrowers with a snapshot.
select month_end, nace_section, borrowers, borrowers_with_revenue_t12m, borrowers_monitored,
    borrowers_with_open_warning, share_with_open_warning, share_on_watchlist
from {{ ref('symetrisk__fct_portfolio_month') }}
where share_with_open_warning not between 0 and 1
    or share_on_watchlist not between 0 and 1
    or (share_with_open_warning is null and borrowers_monitored > 0)
    or borrowers_with_open_warning > borrowers_monitored
    or borrowers_on_watchlist > borrowers_with_open_warning
    or borrowers_with_revenue_t12m > borrowers
