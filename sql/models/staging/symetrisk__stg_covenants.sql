-- stg_covenants: the covenants of the bank's loan agreements, typed and trimmed: in Symetrisk's
-- own builds the seed covenants.csv, in a bank's project the seed or model its var
-- symetrisk_covenants names (docs/dbt-package.md). Every row is checked by the test
-- covenants_are_valid (the dbt twin of pipelines/warehouse/rules_check.py).
{{ config(alias=symetrisk_credit_trends.own_alias()) }}
select
    trim(cast(organization_number as {{ dbt.type_string() }})) as organization_number,
    trim(cast(metric as {{ dbt.type_string() }})) as metric,
    trim(cast(comparison as {{ dbt.type_string() }})) as comparison,
    cast(threshold as {{ double_type() }}) as threshold,
    cast(valid_from as date) as valid_from,
    cast(valid_to as date) as valid_to
from {{ symetrisk_credit_trends.bank_input('covenants') }}
