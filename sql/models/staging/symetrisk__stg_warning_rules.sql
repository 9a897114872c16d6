-- stg_warning_rules: the warning rules, one row per flag, typed and trimmed: in Symetrisk's own
-- builds the seed warning_rules.csv, in a bank's project the seed or model its var
-- symetrisk_warning_rules names (docs/dbt-package.md). Every row is checked by the test
-- warning_rules_are_valid (the dbt twin of pipelines/warehouse/rules_check.py).
-- severe_threshold (past it, an act breach opens at once) is optional: a rules table without
-- the column (as of 0.1) has none.
{{ config(alias=symetrisk_credit_trends.own_alias()) }}
{%- set rules = symetrisk_credit_trends.bank_input('warning_rules') %}
{%- set has_severe = false %}
{%- if execute %}
{%- set names = adapter.get_columns_in_relation(rules) | map(attribute='name') | map('lower') | list %}
{%- set has_severe = 'severe_threshold' in names %}
{%- endif %}
select
    trim(cast(flag as {{ dbt.type_string() }})) as flag,
    trim(cast(metric as {{ dbt.type_string() }})) as metric,
    trim(cast(comparison as {{ dbt.type_string() }})) as comparison,
    cast(watch_threshold as {{ double_type() }}) as watch_threshold,
    cast(act_threshold as {{ double_type() }}) as act_threshold,
    cast({{ 'severe_threshold' if has_severe else 'null' }} as {{ double_type() }})
        as severe_threshold,
    cast(description as {{ dbt.type_string() }}) as description
from {{ rules }}
