-- stg_debtors: a credit scorer's debtors (GET /list-debtors/{creditor}), from
-- symetrisk_raw.debtors, typed and renamed. Empty for a bank client.
select
    cast(organization_number as varchar) as organization_number,
    cast(name as varchar) as debtor_name,
    cast(relationship_state as varchar) as relationship_state,
    cast(requested_at as timestamptz) as requested_at,
    cast(approved_at as timestamptz) as approved_at
from symetrisk_raw.debtors
