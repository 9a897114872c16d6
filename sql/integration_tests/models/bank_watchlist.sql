-- The bank's watchlist: its own borrowers and exposures beside the package's equity ratio and
-- covenant breaches, read with the package's model names.
select
    d.customer_id,
    e.organization_number,
    e.month_end,
    e.drawn_nok,
    m.equity_ratio,
    coalesce(c.breached, false) as covenant_breached
from {{ ref('fct_borrower_month') }} as e
inner join {{ ref('dim_borrower') }} as d on d.organization_number = e.organization_number
inner join {{ ref('symetrisk__fct_borrower_month') }} as m
    on m.organization_number = e.organization_number and m.month_end = e.month_end
left join {{ ref('symetrisk__fct_covenant_tests') }} as c
    on c.organization_number = e.organization_number
    and c.month_end = e.month_end
    and c.metric = 'equity_ratio'
