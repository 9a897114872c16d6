-- Rule: no KPI is infinite or NaN (a ratio with a bad denominator must be null instead).
select organization_number, month_end, revenue_t12m, ebitda_t12m, ebitda_margin_t12m,
    operating_result_t12m, revenue_growth_yoy, equity_ratio, current_ratio, cash_cover_months,
    altman_z
from analytics.fct_borrower_month
where not (
    isfinite(coalesce(revenue_t12m, 0))
    and isfinite(coalesce(ebitda_t12m, 0))
    and isfinite(coalesce(ebitda_margin_t12m, 0))
    and isfinite(coalesce(operating_result_t12m, 0))
    and isfinite(coalesce(revenue_growth_yoy, 0))
    and isfinite(coalesce(equity_ratio, 0))
    and isfinite(coalesce(current_ratio, 0))
    and isfinite(coalesce(cash_cover_months, 0))
    and isfinite(coalesce(altman_z, 0))
)
