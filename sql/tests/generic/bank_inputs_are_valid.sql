{#- The row checks of pipelines/warehouse/rules_check.py as dbt tests, so a bank's own `dbt build`
    refuses a rule or covenant that would silently never fire (a misspelled metric, a threshold
    the wrong way round, an organisation number with a wrong check digit). Each test's query
    returns one row per problem (row_name, problem); when it finds any, the test stops with an
    error that names every bad row, rather than dbt's bare count of failing rows (the helper
    macros are in macros/bank_inputs.sql). -#}

{% test warning_rules_are_valid(model) %}
{%- set known = symetrisk_credit_trends._known_metrics() -%}
{%- set problems -%}
with rules as (
    select flag, metric, comparison, watch_threshold, act_threshold, severe_threshold
    from {{ model }}
),

problems as (
    select flag, 'flag ' || {{ symetrisk_credit_trends._said('flag') }}
        || ' must be lower-case letters, digits and _' as problem
    from rules
    where flag is null
        or length(flag) = 0
        or translate(flag, 'abcdefghijklmnopqrstuvwxyz0123456789_', '') <> ''
        or translate(substr(flag, 1, 1), 'abcdefghijklmnopqrstuvwxyz', '') <> ''
    union all
    select flag, 'flag ' || {{ symetrisk_credit_trends._said('flag') }} || ' is defined '
        || cast(count(*) as {{ dbt.type_string() }}) || ' times' as problem
    from rules
    where flag is not null
    group by flag
    having count(*) > 1
    union all
    select flag, 'unknown metric ' || {{ symetrisk_credit_trends._said('metric') }}
        || ' (known: {{ known | join(", ") }})' as problem
    from rules
    where metric is null or metric not in ({{ symetrisk_credit_trends._quoted(known) }})
    union all
    select flag, 'comparison ' || {{ symetrisk_credit_trends._said('comparison') }}
        || ' must be one of < <= > >=' as problem
    from rules
    where comparison is null or comparison not in ('<', '<=', '>', '>=')
    union all
    select flag, 'needs a watch_threshold, an act_threshold or both' as problem
    from rules
    where watch_threshold is null and act_threshold is null
    union all
    select flag, 'a threshold is not a finite number' as problem
    from rules
    where (watch_threshold is not null and not {{ is_finite('watch_threshold') }})
        or (act_threshold is not null and not {{ is_finite('act_threshold') }})
        or (severe_threshold is not null and not {{ is_finite('severe_threshold') }})
    union all
    select flag, 'act_threshold ' || cast(act_threshold as {{ dbt.type_string() }})
        || ' must be past watch_threshold ' || cast(watch_threshold as {{ dbt.type_string() }})
        || ' in the direction of ' || comparison as problem
    from rules
    where (comparison in ('<', '<=') and act_threshold > watch_threshold)
        or (comparison in ('>', '>=') and act_threshold < watch_threshold)
    union all
    select flag, 'severe_threshold ' || cast(severe_threshold as {{ dbt.type_string() }})
        || ' must be at or past the act (or watch) threshold in the direction of '
        || comparison as problem
    from rules
    where (comparison in ('<', '<=')
            and severe_threshold > coalesce(act_threshold, watch_threshold))
        or (comparison in ('>', '>=')
            and severe_threshold < coalesce(act_threshold, watch_threshold))
)

select '(flag ' || coalesce(flag, 'null') || ')' as row_name, problem
from problems
order by row_name, problem
{%- endset -%}
{{ symetrisk_credit_trends.refuse_bad_rows(model, problems, 'warning rules') }}
{{ problems }}
{% endtest %}

{% test covenants_are_valid(model) %}
{%- set known = symetrisk_credit_trends._known_metrics() -%}
{%- set open_end = "cast('9999-12-31' as date)" -%}
{%- set problems -%}
with covenants as (
    select
        organization_number,
        metric,
        comparison,
        threshold,
        valid_from,
        valid_to,
        row_number() over (
            order by organization_number, metric, valid_from, valid_to, comparison, threshold
        ) as row_id,
        case when length(organization_number) = 9
            and translate(organization_number, '0123456789', '') = ''
        then
            -- brreg's mod-11 check digit (pipelines/orgnr.py): weights 3 2 7 6 5 4 3 2
            mod(
                {%- for weight in [3, 2, 7, 6, 5, 4, 3, 2] %}
                {{ "+ " if not loop.first }}cast(substr(organization_number, {{ loop.index }}, 1) as {{ dbt.type_int() }}) * {{ weight }}
                {%- endfor %}, 11)
        end as remainder,
        case when length(organization_number) = 9
            and translate(organization_number, '0123456789', '') = ''
        then cast(substr(organization_number, 9, 1) as {{ dbt.type_int() }})
        end as last_digit
    from {{ model }}
),

problems as (
    select row_id, 'organization_number ' || {{ symetrisk_credit_trends._said('organization_number') }}
        || case
            when organization_number is null then ' is missing'
            when length(organization_number) <> 9 then ' must have 9 digits'
            when translate(organization_number, '0123456789', '') <> '' then ' must contain digits only'
            else ' has a wrong check digit (brreg mod-11)'
        end as problem
    from covenants
    where remainder is null
        or remainder = 1
        or last_digit <> case when remainder = 0 then 0 else 11 - remainder end
    union all
    select row_id, 'unknown metric ' || {{ symetrisk_credit_trends._said('metric') }}
        || ' (known: {{ known | join(", ") }})' as problem
    from covenants
    where metric is null or metric not in ({{ symetrisk_credit_trends._quoted(known) }})
    union all
    select row_id, 'comparison ' || {{ symetrisk_credit_trends._said('comparison') }}
        || ' must be one of < <= > >=' as problem
    from covenants
    where comparison is null or comparison not in ('<', '<=', '>', '>=')
    union all
    select row_id, 'threshold is not a finite number' as problem
    from covenants
    where threshold is null or not {{ is_finite('threshold') }}
    union all
    select row_id, 'valid_from is missing' as problem
    from covenants
    where valid_from is null
    union all
    select row_id, 'valid_to ' || cast(valid_to as {{ dbt.type_string() }}) || ' is before valid_from '
        || cast(valid_from as {{ dbt.type_string() }}) as problem
    from covenants
    where valid_to < valid_from
    union all
    select later.row_id, later.metric || ' covenant of ' || later.organization_number
        || ' overlaps the one from ' || cast(earlier.valid_from as {{ dbt.type_string() }}) as problem
    from covenants as later
    inner join covenants as earlier
        on earlier.organization_number = later.organization_number
        and earlier.metric = later.metric
        and earlier.row_id < later.row_id
        and earlier.valid_from <= coalesce(later.valid_to, {{ open_end }})
        and later.valid_from <= coalesce(earlier.valid_to, {{ open_end }})
    where coalesce(later.valid_to, {{ open_end }}) >= later.valid_from
        and coalesce(earlier.valid_to, {{ open_end }}) >= earlier.valid_from
)

select
    '(organization_number ' || coalesce(c.organization_number, 'null')
        || ', metric ' || coalesce(c.metric, 'null')
        || ', valid_from ' || coalesce(cast(c.valid_from as {{ dbt.type_string() }}), 'null')
        || ')' as row_name,
    p.problem
from problems as p
inner join covenants as c on c.row_id = p.row_id
order by row_name, p.problem
{%- endset -%}
{{ symetrisk_credit_trends.refuse_bad_rows(model, problems, 'covenants') }}
{{ problems }}
{% endtest %}

{#- The bank's default history (the backtest's input): a valid organisation number, a date, at
    most one default per borrower, a kind (optional) in lower-case letters, digits and _. -#}
{% test defaults_are_valid(model) %}
{%- set problems -%}
with defaults as (
    select
        organization_number,
        default_date,
        kind,
        row_number() over (order by organization_number, default_date, kind) as row_id,
        case when length(organization_number) = 9
            and translate(organization_number, '0123456789', '') = ''
        then
            -- brreg's mod-11 check digit (pipelines/orgnr.py): weights 3 2 7 6 5 4 3 2
            mod(
                {%- for weight in [3, 2, 7, 6, 5, 4, 3, 2] %}
                {{ "+ " if not loop.first }}cast(substr(organization_number, {{ loop.index }}, 1) as {{ dbt.type_int() }}) * {{ weight }}
                {%- endfor %}, 11)
        end as remainder,
        case when length(organization_number) = 9
            and translate(organization_number, '0123456789', '') = ''
        then cast(substr(organization_number, 9, 1) as {{ dbt.type_int() }})
        end as last_digit
    from {{ model }}
),

problems as (
    select row_id, 'organization_number ' || {{ symetrisk_credit_trends._said('organization_number') }}
        || case
            when organization_number is null then ' is missing'
            when length(organization_number) <> 9 then ' must have 9 digits'
            when translate(organization_number, '0123456789', '') <> '' then ' must contain digits only'
            else ' has a wrong check digit (brreg mod-11)'
        end as problem
    from defaults
    where remainder is null
        or remainder = 1
        or last_digit <> case when remainder = 0 then 0 else 11 - remainder end
    union all
    select row_id, 'default_date is missing' as problem
    from defaults
    where default_date is null
    union all
    select row_id, 'kind ' || {{ symetrisk_credit_trends._said('kind') }}
        || ' must be lower-case letters, digits and _' as problem
    from defaults
    where kind is not null
        and translate(kind, 'abcdefghijklmnopqrstuvwxyz0123456789_', '') <> ''
    union all
    select later.row_id, 'organization_number ' || later.organization_number
        || ' already has a default on ' || cast(earlier.default_date as {{ dbt.type_string() }})
        || ' (one row per borrower: its first default)' as problem
    from defaults as later
    inner join defaults as earlier
        on earlier.organization_number = later.organization_number
        and earlier.row_id < later.row_id
)

select
    '(organization_number ' || coalesce(d.organization_number, 'null')
        || ', default_date ' || coalesce(cast(d.default_date as {{ dbt.type_string() }}), 'null')
        || ')' as row_name,
    p.problem
from problems as p
inner join defaults as d on d.row_id = p.row_id
order by row_name, p.problem
{%- endset -%}
{{ symetrisk_credit_trends.refuse_bad_rows(model, problems, 'defaults') }}
{{ problems }}
{% endtest %}

{#- One row per value of the key (a list of columns): the staging models' compound keys. -#}
{% test unique_key(model, columns) %}
select {{ columns | join(', ') }}, count(*) as rows_with_this_key
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
