{#- True when `value` is past `threshold` in the direction of `comparison` (one of <, <=, >,
    >=, a column or a literal); false when the threshold is null (that level is not used). -#}
{% macro breaches(value, comparison, threshold) -%}
    ({{ threshold }} is not null and (
        ({{ comparison }} = '<' and {{ value }} < {{ threshold }})
        or ({{ comparison }} = '<=' and {{ value }} <= {{ threshold }})
        or ({{ comparison }} = '>' and {{ value }} > {{ threshold }})
        or ({{ comparison }} = '>=' and {{ value }} >= {{ threshold }})
    ))
{%- endmacro %}
