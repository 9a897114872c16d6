-- Rule: dim_borrower and fct_borrower_trend have one row per borrower, and every borrower with
-- a trend row is in dim_borrower.
select 'dim_borrower' as model, organization_number, count(*) as rows_for_borrower
from {{ ref('symetrisk__dim_borrower') }}
group by organization_number
having count(*) > 1
union all
select 'fct_borrower_trend' as model, organization_number, count(*) as rows_for_borrower
from {{ ref('symetrisk__fct_borrower_trend') }}
group by organization_number
having count(*) > 1
union all
select 'fct_borrower_trend (not in dim_borrower)', t.organization_number, 1
from {{ ref('symetrisk__fct_borrower_trend') }} as t
left join {{ ref('symetrisk__dim_borrower') }} as d on d.organization_number = t.organization_number
where d.organization_number is null
