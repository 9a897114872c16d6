-- The bank's own borrower dimension, from its core banking system (the seed bank_customers):
-- the same name as the package's dim_borrower, other columns.
select
    cast(organization_number as varchar) as organization_number,
    customer_id,
    segment
from {{ ref('bank_customers') }}
