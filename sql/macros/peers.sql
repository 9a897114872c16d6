{#- The p-th percentile (0..1, continuous: interpolated) of a group. `among`: all the
    percentiles the query takes of x (p one of them), which DuckDB then works out in one sort
    of the group's values instead of one sort each (the same list in every call: DuckDB computes
    that aggregate once). -#}
{% macro percentile_of(x, p, among=none) %}{{ return(adapter.dispatch('percentile_of', 'symetrisk_credit_trends')(x, p, among)) }}{% endmacro %}
{% macro duckdb__percentile_of(x, p, among=none) -%}
{%- if among -%}quantile_cont({{ x }}, [{{ among | join(', ') }}])[{{ among.index(p) + 1 }}]
{%- else -%}quantile_cont({{ x }}, {{ p }}){%- endif -%}
{%- endmacro %}
{% macro default__percentile_of(x, p, among=none) %}percentile_cont({{ p }}) within group (order by {{ x }}){% endmacro %}
{% macro bigquery__percentile_of(x, p, among=none) %}approx_quantiles({{ x }}, 100)[offset({{ (p * 100) | int }})]{% endmacro %}
