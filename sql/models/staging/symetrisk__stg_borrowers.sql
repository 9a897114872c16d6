-- stg_borrowers: the bank's view of each borrower company (GET /borrower/{org}), from
-- symetrisk_raw.borrowers, typed and renamed.
{{ config(alias=symetrisk_credit_trends.own_alias()) }}
select
    cast(organization_number as {{ dbt.type_string() }}) as organization_number,
    cast(name as {{ dbt.type_string() }}) as borrower_name,
    cast(nace_code as {{ dbt.type_string() }}) as nace_code,
    cast(nace_section as {{ dbt.type_string() }}) as nace_section,
    cast(founded_date as date) as founded_date,
    cast(municipality as {{ dbt.type_string() }}) as municipality,
    cast(accounting_system as {{ dbt.type_string() }}) as accounting_system,
    cast(connection_status as {{ dbt.type_string() }}) as connection_status,
    cast(consented_to_share_data as {{ dbt.type_boolean() }}) as consented_to_share_data,
    cast(relationship_state as {{ dbt.type_string() }}) as relationship_state,
    cast(first_snapshot_date as date) as first_snapshot_date,
    cast(last_snapshot_date as date) as last_snapshot_date
from {{ source('symetrisk', 'borrowers') }}
