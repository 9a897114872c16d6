-- stg_warning_rules: the warning rules, one row per flag, typed and trimmed: in Symetrisk's own
-- builds the seed warning_rules.csv, in a bank's project the seed or model its var
-- symetrisk_warning_rules names (docs/dbt-package.md). Every row is checked by the test
-- warning_rules_are_valid (the dbt twin of pipelines/warehouse/rules_check.py).
{{ config(alias=symetrisk_credit_trends.own_alias()) }}
select
    trim(cast(flag as {{ dbt.type_string() }})) as flag,
    trim(cast(metric as {{ dbt.type_string() }})) as metric,
    trim(cast(comparison as {{ dbt.type_string() }})) as comparison,
    cast(watch_threshold as {{ double_type() }}) as watch_threshold,
    cast(act_threshold as {{ double_type() }}) as act_threshold,
    cast(description as {{ dbt.type_string() }}) as description
from {{ symetrisk_credit_trends.bank_input('warning_rules') }}
