-- int_borrower_metrics: every metric a warning rule or covenant tests (a row of warning_rules.csv
-- or covenants.csv names it), one row per borrower, month end and metric with a known value (long
-- form, so rules and covenants join on the metric's name). The names a rule may use are
-- pipelines/warehouse/rules_check.py's METRICS; metrics no rule names are left out (of 22, the
-- seeds name 10: a third of the rows, and the warning models read every one of them).
{%- set metrics = [
    'equity_ratio', 'current_ratio', 'cash_cover_months', 'revenue_growth_yoy',
    'ebitda_margin_t12m', 'altman_z', 'total_equity',
    'operating_margin_t12m', 'net_interest_bearing_debt', 'nibd_to_ebitda', 'interest_coverage',
    'ebitda_interest_coverage', 'cash_cover_months_smoothed',
    'days_sales_outstanding', 'days_payables_outstanding', 'inventory_days', 'working_capital',
    'cash_runway_months', 'days_payables_change_yoy', 'public_duties_months',
    'public_duties_change_yoy',
    'equity_ratio_peer_percentile', 'operating_margin_peer_percentile',
    'cash_cover_peer_percentile',
] %}
with wide as (
    select
        m.organization_number,
        m.month_end,
        m.month_number,
        m.equity_ratio,
        m.current_ratio,
        m.cash_cover_months,
        m.revenue_growth_yoy,
        m.ebitda_margin_t12m,
        m.altman_z,
        m.total_equity,
        k.operating_margin_t12m,
        k.net_interest_bearing_debt,
        k.nibd_to_ebitda,
        k.interest_coverage,
        k.ebitda_interest_coverage,
        k.cash_cover_months_smoothed,
        k.days_sales_outstanding,
        k.days_payables_outstanding,
        k.inventory_days,
        k.working_capital,
        k.cash_runway_months,
        k.days_payables_change_yoy,
        k.public_duties_months,
        k.public_duties_change_yoy,
        p.equity_ratio_peer_percentile,
        p.operating_margin_peer_percentile,
        p.cash_cover_peer_percentile
    from {{ ref('fct_borrower_month') }} as m
    left join {{ ref('fct_borrower_kpis') }} as k
        on k.organization_number = m.organization_number and k.month_end = m.month_end
    left join {{ ref('fct_borrower_peer_position') }} as p
        on p.organization_number = m.organization_number and p.month_end = m.month_end
),

tested as (
    select metric from {{ ref('warning_rules') }}
    union all
    select metric from {{ ref('covenants') }}
)
{% for metric in metrics %}
select
    organization_number,
    month_end,
    month_number,
    '{{ metric }}' as metric,
    cast({{ metric }} as {{ double_type() }}) as value
from wide
where {{ metric }} is not null and '{{ metric }}' in (select metric from tested)
{% if not loop.last %}union all{% endif %}
{%- endfor %}
