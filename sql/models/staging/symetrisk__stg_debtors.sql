-- stg_debtors: a credit scorer's debtors (GET /list-debtors/{creditor}), from
-- symetrisk_raw.debtors, typed and renamed. Empty for a bank client.
{{ config(alias=symetrisk_credit_trends.own_alias()) }}
select
    cast(organization_number as {{ dbt.type_string() }}) as organization_number,
    cast(name as {{ dbt.type_string() }}) as debtor_name,
    cast(relationship_state as {{ dbt.type_string() }}) as relationship_state,
    cast(requested_at as {{ timestamp_tz_type() }}) as requested_at,
    cast(approved_at as {{ timestamp_tz_type() }}) as approved_at
from {{ source('symetrisk', 'debtors') }}
