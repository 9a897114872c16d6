-- Rule: no KPI is infinite or NaN (a ratio with a bad denominator must be null instead).
select organization_number, month_end, revenue_t12m, ebitda_t12m, ebitda_margin_t12m,
    operating_result_t12m, revenue_growth_yoy, equity_ratio, current_ratio, cash_cover_months,
    altman_z
from {{ ref('symetrisk__fct_borrower_month') }}
where not (
    {{ is_finite('coalesce(revenue_t12m, 0)') }}
    and {{ is_finite('coalesce(ebitda_t12m, 0)') }}
    and {{ is_finite('coalesce(ebitda_margin_t12m, 0)') }}
    and {{ is_finite('coalesce(operating_result_t12m, 0)') }}
    and {{ is_finite('coalesce(revenue_growth_yoy, 0)') }}
    and {{ is_finite('coalesce(equity_ratio, 0)') }}
    and {{ is_finite('coalesce(current_ratio, 0)') }}
    and {{ is_finite('coalesce(cash_cover_months, 0)') }}
    and {{ is_finite('coalesce(altman_z, 0)') }}
)
