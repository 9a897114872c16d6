-- stg_facilities: the bank's loan book, typed and trimmed: in Symetrisk's own builds the seed
-- facilities.csv (checked by pipelines/warehouse/rules_check.py), in a bank's project the seed
-- or model its var symetrisk_facilities names; installed as a package without that var, empty
-- (a loan book is optional: the brief then ranks the watchlist by severity).
{{ config(alias=symetrisk_credit_trends.own_alias()) }}
{%- if var('symetrisk_facilities', none) is none and not symetrisk_credit_trends.is_root_project() %}
select
    cast(null as {{ dbt.type_string() }}) as organization_number,
    cast(null as {{ dbt.type_string() }}) as facility_id,
    cast(null as {{ dbt.type_string() }}) as product,
    cast(null as {{ double_type() }}) as limit_amount,
    cast(null as {{ double_type() }}) as drawn_amount,
    cast(null as {{ dbt.type_string() }}) as currency,
    cast(null as {{ dbt.type_string() }}) as relationship_manager,
    cast(null as date) as valid_from,
    cast(null as date) as valid_to
where 1 = 0
{%- else %}
select
    trim(cast(organization_number as {{ dbt.type_string() }})) as organization_number,
    trim(cast(facility_id as {{ dbt.type_string() }})) as facility_id,
    trim(cast(product as {{ dbt.type_string() }})) as product,
    cast(limit_amount as {{ double_type() }}) as limit_amount,
    cast(drawn_amount as {{ double_type() }}) as drawn_amount,
    upper(trim(cast(currency as {{ dbt.type_string() }}))) as currency,
    trim(cast(relationship_manager as {{ dbt.type_string() }})) as relationship_manager,
    cast(valid_from as date) as valid_from,
    cast(valid_to as date) as valid_to
from {{ symetrisk_credit_trends.bank_input('facilities') }}
{%- endif %}
