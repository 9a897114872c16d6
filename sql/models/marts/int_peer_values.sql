-- int_peer_values: the ratios compared across peers, one row per borrower, month end and
-- metric, with the borrower's NACE section ('unknown' when not known). Feeds fct_peer_month
-- and fct_borrower_peer_position.
-- A view, not a table: fct_peer_month and fct_borrower_peer_position read it, and writing its
-- rows cost more than computing them where they are read.
{{ config(materialized='view') }}
with months as (
    select
        m.organization_number,
        m.month_end,
        coalesce(d.nace_section, 'unknown') as nace_section,
        m.equity_ratio,
        m.cash_cover_months,
        k.operating_margin_t12m,
        k.nibd_to_ebitda,
        k.interest_coverage
    from {{ ref('fct_borrower_month') }} as m
    left join {{ ref('dim_borrower') }} as d on d.organization_number = m.organization_number
    left join {{ ref('fct_borrower_kpis') }} as k
        on k.organization_number = m.organization_number and k.month_end = m.month_end
)

select organization_number, month_end, nace_section, 'equity_ratio' as metric, equity_ratio as value
from months where equity_ratio is not null
union all
select organization_number, month_end, nace_section, 'operating_margin_t12m', operating_margin_t12m
from months where operating_margin_t12m is not null
union all
select organization_number, month_end, nace_section, 'cash_cover_months', cash_cover_months
from months where cash_cover_months is not null
union all
select organization_number, month_end, nace_section, 'nibd_to_ebitda', nibd_to_ebitda
from months where nibd_to_ebitda is not null
union all
select organization_number, month_end, nace_section, 'interest_coverage', interest_coverage
from months where interest_coverage is not null
