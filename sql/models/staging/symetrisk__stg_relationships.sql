-- stg_relationships: every version of every bank-borrower relationship, from the dlt SCD2 table
-- symetrisk_raw.relationships, typed and renamed. A state change closes the old row
-- (valid_to set) and opens a new one; the current version has valid_to null.
{{ config(alias=symetrisk_credit_trends.own_alias()) }}
select
    cast(id as {{ dbt.type_string() }}) as relationship_id,
    cast(organization_number as {{ dbt.type_string() }}) as organization_number,
    cast(company_name as {{ dbt.type_string() }}) as company_name,
    cast(relationship_state as {{ dbt.type_string() }}) as relationship_state,
    cast(requested_at as {{ timestamp_tz_type() }}) as requested_at,
    cast(approved_at as {{ timestamp_tz_type() }}) as approved_at,
    cast(revoked_at as {{ timestamp_tz_type() }}) as revoked_at,
    cast(denied_at as {{ timestamp_tz_type() }}) as denied_at,
    cast(updated_at as {{ timestamp_tz_type() }}) as updated_at,
    cast(_dlt_valid_from as {{ timestamp_tz_type() }}) as valid_from,
    cast(_dlt_valid_to as {{ timestamp_tz_type() }}) as valid_to
from {{ source('symetrisk', 'relationships') }}
