-- int_borrower_metrics: every metric a warning rule or covenant tests (a row of warning_rules.csv
-- or covenants.csv names it), one row per borrower, month end and metric with a known value (long
-- form, so rules and covenants join on the metric's name). The names a rule may use are the
-- macro symetrisk_metrics (and rules_check.py's METRICS); metrics no rule names are left out
-- (of 24, the seeds name 10: a third of the rows, and the warning models read every one).
-- A view, not a table: int_warning_signals (a view too) and fct_covenant_tests read it, and
-- writing its 7.8 M rows at 1M snapshots cost more than computing them where they are read.
{{ config(alias=symetrisk_credit_trends.own_alias(), materialized='view') }}
{#- each metric with the model it comes from (macros/package.sql): all three have one row per
    borrower and month of fct_borrower_month (fct_borrower_kpis from the same snapshots,
    fct_borrower_peer_position from fct_borrower_month), so each is read on its own -#}
{%- set sources = symetrisk_metrics() %}
with tested as (
    select metric from {{ ref('symetrisk__stg_warning_rules') }}
    union all
    select metric from {{ ref('symetrisk__stg_covenants') }}
)
{% for model, metrics in sources %}
{%- set outer_last = loop.last %}
{%- for metric in metrics %}
select
    organization_number,
    month_end,
    {{ 'month_number' if model != 'symetrisk__fct_borrower_peer_position' else month_number('month_end') }}
        as month_number,
    '{{ metric }}' as metric,
    cast({{ metric }} as {{ double_type() }}) as value
from {{ ref(model) }}
where {{ metric }} is not null and '{{ metric }}' in (select metric from tested)
{% if not (outer_last and loop.last) %}union all{% endif %}
{%- endfor %}
{%- endfor %}
