-- Rule: dim_borrower and fct_borrower_trend have one row per borrower, and every borrower with
-- a trend row is in dim_borrower.
select 'dim_borrower' as model, organization_number, count(*) as rows_for_borrower
from analytics.dim_borrower
group by organization_number
having count(*) > 1
union all
select 'fct_borrower_trend', organization_number, count(*)
from analytics.fct_borrower_trend
group by organization_number
having count(*) > 1
union all
select 'fct_borrower_trend (not in dim_borrower)', t.organization_number, 1
from analytics.fct_borrower_trend as t
anti join analytics.dim_borrower as d on d.organization_number = t.organization_number
