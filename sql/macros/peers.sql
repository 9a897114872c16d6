{#- The p-th percentile (0..1, continuous: interpolated) of a group. -#}
{% macro percentile_of(x, p) %}{{ return(adapter.dispatch('percentile_of', 'symetrisk_credit_trends')(x, p)) }}{% endmacro %}
{% macro duckdb__percentile_of(x, p) %}quantile_cont({{ x }}, {{ p }}){% endmacro %}
{% macro default__percentile_of(x, p) %}percentile_cont({{ p }}) within group (order by {{ x }}){% endmacro %}
{% macro bigquery__percentile_of(x, p) %}approx_quantiles({{ x }}, 100)[offset({{ (p * 100) | int }})]{% endmacro %}
