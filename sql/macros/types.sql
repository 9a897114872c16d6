{#- Column types by name, for the warehouses where the standard spelling differs. dbt's own
    type_float() is FLOAT, which is single precision on DuckDB, so amounts use double_type(). -#}

{% macro double_type() %}{{ return(adapter.dispatch('double_type', 'symetrisk_credit_trends')()) }}{% endmacro %}
{% macro default__double_type() %}double precision{% endmacro %}
{% macro bigquery__double_type() %}float64{% endmacro %}

{% macro timestamp_tz_type() %}{{ return(adapter.dispatch('timestamp_tz_type', 'symetrisk_credit_trends')()) }}{% endmacro %}
{% macro default__timestamp_tz_type() %}timestamp with time zone{% endmacro %}
{% macro snowflake__timestamp_tz_type() %}timestamp_tz{% endmacro %}
{% macro bigquery__timestamp_tz_type() %}timestamp{% endmacro %}
