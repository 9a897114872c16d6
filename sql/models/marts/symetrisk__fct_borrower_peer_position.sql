-- fct_borrower_peer_position: one row per borrower and month end, its NACE section, and where
-- it stands among that section's borrowers that month, per ratio: the percentile rank
-- (percent_rank: the share of the section's other borrowers with a lower value, 0 = lowest,
-- 1 = highest) among those with a known value. Null when the borrower's value is unknown, or
-- when fewer than var('peer_min_borrowers') (default 5) borrowers of the section have one
-- that month (too few peers to rank against).
{{ config(alias=symetrisk_credit_trends.own_alias()) }}
{%- set ratios = [
    ('equity_ratio', 'equity_ratio'),
    ('operating_margin_t12m', 'operating_margin'),
    ('cash_cover_months', 'cash_cover'),
] %}
with months as (
    select * from {{ ref('symetrisk__int_peer_ratios') }}
),

-- each ratio ranked among the section's borrowers with a known value that month (the rows
-- without one form a partition of their own, and get no place below); the count of the whole
-- partition is written with percent_rank's ordering so both share one sort
ranked as (
    select
        organization_number,
        month_end,
        nace_section,
        {%- for ratio, short in ratios %}
        {{ ratio }},
        count(*) over (
            partition by month_end, nace_section, {{ ratio }} is null order by {{ ratio }}
            rows between unbounded preceding and unbounded following
        ) as {{ short }}_peers,
        percent_rank() over (
            partition by month_end, nace_section, {{ ratio }} is null order by {{ ratio }}
        ) as {{ short }}_rank{{ ',' if not loop.last }}
        {%- endfor %}
    from months
)

select
    organization_number,
    month_end,
    nace_section,
    {%- for ratio, short in ratios %}
    case when {{ ratio }} is not null and {{ short }}_peers >= {{ var('peer_min_borrowers', 5) }}
        then {{ short }}_rank
    end as {{ short }}_peer_percentile,
    {%- endfor %}
    case when equity_ratio is not null and equity_ratio_peers >= {{ var('peer_min_borrowers', 5) }}
        then equity_ratio_peers
    end as equity_ratio_peers
from ranked
