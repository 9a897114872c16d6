-- stg_relationships: every version of every bank-borrower relationship, from the dlt SCD2 table
-- symetrisk_raw.relationships, typed and renamed. A state change closes the old row
-- (valid_to set) and opens a new one; the current version has valid_to null.
select
    cast(id as varchar) as relationship_id,
    cast(organization_number as varchar) as organization_number,
    cast(company_name as varchar) as company_name,
    cast(relationship_state as varchar) as relationship_state,
    cast(requested_at as timestamptz) as requested_at,
    cast(approved_at as timestamptz) as approved_at,
    cast(revoked_at as timestamptz) as revoked_at,
    cast(denied_at as timestamptz) as denied_at,
    cast(updated_at as timestamptz) as updated_at,
    cast(_dlt_valid_from as timestamptz) as valid_from,
    cast(_dlt_valid_to as timestamptz) as valid_to
from symetrisk_raw.relationships
