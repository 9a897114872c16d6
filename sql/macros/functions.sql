{#- Functions that each warehouse spells its own way: DuckDB's name first, the others by
    adapter.dispatch. A bank's project may override any of them (dispatch search order). -#}

{#- A JSON object from (key, expression) pairs. -#}
{% macro json_object_of(pairs) %}{{ return(adapter.dispatch('json_object_of', 'symetrisk_credit_trends')(pairs)) }}{% endmacro %}

{% macro _json_args(pairs) -%}
{%- for key, value in pairs -%}'{{ key }}', {{ value }}{{ ", " if not loop.last }}{%- endfor -%}
{%- endmacro %}

{% macro default__json_object_of(pairs) %}json_object({{ symetrisk_credit_trends._json_args(pairs) }}){% endmacro %}
{% macro postgres__json_object_of(pairs) %}jsonb_build_object({{ symetrisk_credit_trends._json_args(pairs) }}){% endmacro %}
{% macro snowflake__json_object_of(pairs) %}object_construct_keep_null({{ symetrisk_credit_trends._json_args(pairs) }}){% endmacro %}
{% macro bigquery__json_object_of(pairs) %}json_object({{ symetrisk_credit_trends._json_args(pairs) }}){% endmacro %}

{#- True when x is a finite number (not infinity, not NaN); x must not be null. -#}
{% macro is_finite(x) %}{{ return(adapter.dispatch('is_finite', 'symetrisk_credit_trends')(x)) }}{% endmacro %}
{% macro duckdb__is_finite(x) %}isfinite({{ x }}){% endmacro %}
{#- infinity - infinity and NaN - NaN are NaN, and NaN = 0 is false -#}
{% macro default__is_finite(x) %}(({{ x }}) - ({{ x }}) = 0){% endmacro %}

{#- The median of a group. -#}
{% macro median_of(x) %}{{ return(adapter.dispatch('median_of', 'symetrisk_credit_trends')(x)) }}{% endmacro %}
{% macro duckdb__median_of(x) %}median({{ x }}){% endmacro %}
{% macro default__median_of(x) %}percentile_cont(0.5) within group (order by {{ x }}){% endmacro %}
{% macro bigquery__median_of(x) %}approx_quantiles({{ x }}, 2)[offset(1)]{% endmacro %}

{#- The calendar date in UTC of a timestamp with time zone. -#}
{% macro utc_date(ts) %}{{ return(adapter.dispatch('utc_date', 'symetrisk_credit_trends')(ts)) }}{% endmacro %}
{% macro default__utc_date(ts) %}cast(timezone('UTC', {{ ts }}) as date){% endmacro %}
{% macro snowflake__utc_date(ts) %}cast(convert_timezone('UTC', {{ ts }}) as date){% endmacro %}
{% macro bigquery__utc_date(ts) %}date({{ ts }}, 'UTC'){% endmacro %}

{#- The month number of a date: year × 12 + month, so consecutive calendar months differ by 1. -#}
{% macro month_number(d) %}(cast(extract(year from {{ d }}) as {{ dbt.type_int() }}) * 12 + cast(extract(month from {{ d }}) as {{ dbt.type_int() }})){% endmacro %}

{#- The last day of the month `months` calendar months after date d. -#}
{% macro month_end_after(d, months) %}{{ dbt.last_day(dbt.dateadd('month', months, d), 'month') }}{% endmacro %}

{#- The window over the n calendar months ending at this row's month (by month_number, so a
    missing month leaves a gap instead of pulling in an older one), per borrower. -#}
{% macro last_calendar_months(n) %}(
            partition by organization_number order by month_number
            range between {{ n - 1 }} preceding and current row
        ){% endmacro %}

{#- The window over this row and the n − 1 rows before it, per borrower by month_number. They are
    the rows of last_calendar_months(n) when those n months are all there (months_in_a_row(n)),
    and a ROWS frame costs less than a RANGE frame: a figure "over the n months, null unless all
    are there" is a sum over last_rows(n) guarded by count_in_last_months(x, n) = n. -#}
{% macro last_rows(n) %}(
            partition by organization_number order by month_number
            rows between {{ n - 1 }} preceding and current row
        ){% endmacro %}

{#- True when this row and the n − 1 rows before it are n calendar months in a row. -#}
{% macro months_in_a_row(n) %}(lag(month_number, {{ n - 1 }}) over (
            partition by organization_number order by month_number
        ) = month_number - {{ n - 1 }}){% endmacro %}

{#- Of the n calendar months ending at this row's month, how many have a value of x, when all n
    months are there; null when one is missing (so "= n" means: all n there, each with a value,
    as count(x) over last_calendar_months(n) = n does). -#}
{% macro count_in_last_months(x, n) %}case when {{ months_in_a_row(n) }}
            then count({{ x }}) over {{ last_rows(n) }}
        end{% endmacro %}
