-- Rule: the figures came through. When there are snapshots but not one has an operating revenue
-- or total assets, the raw columns were empty (a loader that names them otherwise than
-- docs/data-contract.md leaves the declared columns null) and every KPI would be null.
select count(*) as snapshots, count(operating_revenue) as with_revenue,
    count(total_assets) as with_total_assets
from {{ ref('symetrisk__fct_borrower_month') }}
having count(*) > 0 and count(operating_revenue) = 0 and count(total_assets) = 0
