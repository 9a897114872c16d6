-- fct_borrower_peer_position: one row per borrower and month end, its NACE section, and where
-- it stands among that section's borrowers that month, per ratio: the percentile rank
-- (percent_rank: the share of the section's other borrowers with a lower value, 0 = lowest,
-- 1 = highest) among those with a known value. Null when the borrower's value is unknown, or
-- when fewer than var('peer_min_borrowers') (default 5) borrowers of the section have one
-- that month (too few peers to rank against).
with ranked as (
    select
        organization_number,
        month_end,
        nace_section,
        metric,
        -- the whole partition, written with percent_rank's ordering so both share one sort
        count(*) over (
            partition by month_end, nace_section, metric order by value
            rows between unbounded preceding and unbounded following
        ) as peers,
        percent_rank() over (
            partition by month_end, nace_section, metric order by value
        ) as peer_rank
    from {{ ref('int_peer_values') }}
    -- only the ratios this model places (ranked per metric, so the others change nothing)
    where metric in ('equity_ratio', 'operating_margin_t12m', 'cash_cover_months')
),

usable as (
    select *
    from ranked
    where peers >= {{ var('peer_min_borrowers', 5) }}
),

-- one row per borrower and month with its ratios' places, before the join (fewer rows to join)
positions as (
    select
        organization_number,
        month_end,
        max(case when metric = 'equity_ratio' then peer_rank end) as equity_ratio_peer_percentile,
        max(case when metric = 'operating_margin_t12m' then peer_rank end)
            as operating_margin_peer_percentile,
        max(case when metric = 'cash_cover_months' then peer_rank end)
            as cash_cover_peer_percentile,
        max(case when metric = 'equity_ratio' then peers end) as equity_ratio_peers
    from usable
    group by organization_number, month_end
)

select
    m.organization_number,
    m.month_end,
    coalesce(d.nace_section, 'unknown') as nace_section,
    max(p.equity_ratio_peer_percentile) as equity_ratio_peer_percentile,
    max(p.operating_margin_peer_percentile) as operating_margin_peer_percentile,
    max(p.cash_cover_peer_percentile) as cash_cover_peer_percentile,
    max(p.equity_ratio_peers) as equity_ratio_peers
from {{ ref('fct_borrower_month') }} as m
left join {{ ref('dim_borrower') }} as d on d.organization_number = m.organization_number
left join positions as p
    on p.organization_number = m.organization_number and p.month_end = m.month_end
group by m.organization_number, m.month_end, coalesce(d.nace_section, 'unknown')
