{#- Helpers of the row checks of the bank's rules and covenants (tests/generic/
    bank_inputs_are_valid.sql). -#}

{#- Raise one error naming every row of `problems` (a query of row_name, problem), when the
    relation it reads exists (`dbt compile` before a build does not read it). -#}
{% macro refuse_bad_rows(model, problems, what) -%}
    {%- if execute and load_relation(model) is not none -%}
        {%- set found = run_query(problems) -%}
        {%- if found.rows | length > 0 -%}
            {%- set lines = [] -%}
            {%- for row in found.rows -%}
                {%- do lines.append(what ~ " " ~ row[0] ~ ": " ~ row[1]) -%}
            {%- endfor -%}
            {{ exceptions.raise_compiler_error(
                lines | length ~ " bad row(s) in the " ~ what ~ " (docs/dbt-package.md):\n  "
                ~ lines | join("\n  ")) }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- The known metrics as a SQL list, and as the text of the error. -#}
{% macro _known_metrics() -%}
    {%- set names = [] -%}
    {%- for model, metrics in symetrisk_credit_trends.symetrisk_metrics() -%}
        {%- do names.extend(metrics) -%}
    {%- endfor -%}
    {{ return(names | sort) }}
{%- endmacro %}

{% macro _quoted(names) -%}
    {%- for name in names -%}'{{ name }}'{{ ", " if not loop.last }}{%- endfor -%}
{%- endmacro %}

{#- x quoted for a message, as Python's repr quotes it: 'abc', or null -#}
{% macro _said(x) -%}
    {%- set mark = symetrisk_credit_trends.quote_mark() -%}
    coalesce({{ mark }} || cast({{ x }} as {{ dbt.type_string() }}) || {{ mark }}, 'null')
{%- endmacro %}

{#- The character ' as an expression (a doubled '' in a literal starts a triple-quoted string in
    BigQuery). -#}
{% macro quote_mark() %}{{ return(adapter.dispatch('quote_mark', 'symetrisk_credit_trends')()) }}{% endmacro %}
{% macro default__quote_mark() %}chr(39){% endmacro %}
{% macro bigquery__quote_mark() %}code_points_to_string([39]){% endmacro %}
