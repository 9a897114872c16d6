-- The bank's own borrower-month fact: what each borrower had drawn at each month end (the seed
-- bank_exposures); the same name as the package's fct_borrower_month, other columns.
select
    cast(organization_number as varchar) as organization_number,
    cast(month_end as date) as month_end,
    drawn_nok
from {{ ref('bank_exposures') }}
