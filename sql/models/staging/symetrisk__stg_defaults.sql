-- stg_defaults: the bank's default history, typed and trimmed: in Symetrisk's own builds the
-- seed defaults.csv (checked by pipelines/warehouse/rules_check.py), in a bank's project the
-- seed or model its var symetrisk_defaults names; installed as a package without that var,
-- empty (the backtest then reports no defaults). Every row is checked by the test
-- defaults_are_valid. kind is lower case, null when not given.
{{ config(alias=symetrisk_credit_trends.own_alias()) }}
{%- if var('symetrisk_defaults', none) is none and not symetrisk_credit_trends.is_root_project() %}
select
    cast(null as {{ dbt.type_string() }}) as organization_number,
    cast(null as date) as default_date,
    cast(null as {{ dbt.type_string() }}) as kind
where 1 = 0
{%- else %}
select
    trim(cast(organization_number as {{ dbt.type_string() }})) as organization_number,
    cast(default_date as date) as default_date,
    nullif(lower(trim(cast(kind as {{ dbt.type_string() }}))), '') as kind
from {{ symetrisk_credit_trends.bank_input('defaults') }}
{%- endif %}
