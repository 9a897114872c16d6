-- Rule: equity_ratio is known exactly when total_assets is above zero, and is at most 1 when
-- the liabilities are not negative (equity cannot exceed assets then).
select organization_number, month_end, equity_ratio, total_equity, total_assets,
    total_liabilities
from {{ ref('symetrisk__fct_borrower_month') }}
where (total_assets > 0 and total_equity is not null and equity_ratio is null)
    or (not coalesce(total_assets > 0, false) and equity_ratio is not null)
    or (total_liabilities >= 0 and equity_ratio > 1 + 1e-9)
