-- Rule: a 12-month figure is null until a borrower has 12 calendar months of history.
select organization_number, month_end, revenue_t12m, ebitda_t12m, operating_result_t12m
from (
    select
        *,
        month_number - min(month_number) over (partition by organization_number) + 1
            as months_since_first
    from {{ ref('symetrisk__fct_borrower_month') }}
) as months
where months_since_first < 12
    and (revenue_t12m is not null or ebitda_t12m is not null or operating_result_t12m is not null)
