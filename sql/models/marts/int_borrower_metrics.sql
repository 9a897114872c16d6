-- int_borrower_metrics: every metric a warning rule or covenant tests (a row of warning_rules.csv
-- or covenants.csv names it), one row per borrower, month end and metric with a known value (long
-- form, so rules and covenants join on the metric's name). The names a rule may use are
-- pipelines/warehouse/rules_check.py's METRICS; metrics no rule names are left out (of 22, the
-- seeds name 10: a third of the rows, and the warning models read every one of them).
-- A view, not a table: int_warning_signals (a view too) and fct_covenant_tests read it, and
-- writing its 7.8 M rows at 1M snapshots cost more than computing them where they are read.
{{ config(materialized='view') }}
{#- each metric with the model it comes from: all three have one row per borrower and month of
    fct_borrower_month (fct_borrower_kpis from the same snapshots, fct_borrower_peer_position
    from fct_borrower_month), so each is read on its own, without joining them -#}
{%- set sources = [
    ('fct_borrower_month', [
        'equity_ratio', 'current_ratio', 'cash_cover_months', 'revenue_growth_yoy',
        'ebitda_margin_t12m', 'altman_z', 'total_equity',
    ]),
    ('fct_borrower_kpis', [
        'operating_margin_t12m', 'net_interest_bearing_debt', 'nibd_to_ebitda',
        'interest_coverage', 'ebitda_interest_coverage', 'cash_cover_months_smoothed',
        'days_sales_outstanding', 'days_payables_outstanding', 'inventory_days',
        'working_capital', 'cash_runway_months', 'days_payables_change_yoy',
        'public_duties_months', 'public_duties_change_yoy',
    ]),
    ('fct_borrower_peer_position', [
        'equity_ratio_peer_percentile', 'operating_margin_peer_percentile',
        'cash_cover_peer_percentile',
    ]),
] %}
with tested as (
    select metric from {{ ref('warning_rules') }}
    union all
    select metric from {{ ref('covenants') }}
)
{% for model, metrics in sources %}
{%- set outer_last = loop.last %}
{%- for metric in metrics %}
select
    organization_number,
    month_end,
    {{ 'month_number' if model != 'fct_borrower_peer_position' else month_number('month_end') }}
        as month_number,
    '{{ metric }}' as metric,
    cast({{ metric }} as {{ double_type() }}) as value
from {{ ref(model) }}
where {{ metric }} is not null and '{{ metric }}' in (select metric from tested)
{% if not (outer_last and loop.last) %}union all{% endif %}
{%- endfor %}
{%- endfor %}
