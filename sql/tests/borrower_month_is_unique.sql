-- Rule: fct_borrower_month has one row per borrower and month end.
select organization_number, month_end, count(*) as rows_for_month
from {{ ref('symetrisk__fct_borrower_month') }}
group by organization_number, month_end
having count(*) > 1
