-- fct_peer_month: per month end, NACE section and key ratio (equity_ratio,
-- operating_margin_t12m, cash_cover_months, nibd_to_ebitda, interest_coverage), the
-- distribution across the section's borrowers with a known value that month: how many
-- (borrowers), and the 10th, 25th, 50th, 75th and 90th percentiles (continuous: interpolated
-- between neighbouring values).
{{ config(alias=symetrisk_credit_trends.own_alias()) }}
{%- set percentiles = [0.10, 0.25, 0.50, 0.75, 0.90] %}
select
    month_end,
    nace_section,
    metric,
    count(*) as borrowers,
    {{ percentile_of('value', 0.10, percentiles) }} as p10,
    {{ percentile_of('value', 0.25, percentiles) }} as p25,
    {{ percentile_of('value', 0.50, percentiles) }} as p50,
    {{ percentile_of('value', 0.75, percentiles) }} as p75,
    {{ percentile_of('value', 0.90, percentiles) }} as p90
from {{ ref('symetrisk__int_peer_values') }}
group by month_end, nace_section, metric
