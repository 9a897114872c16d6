-- int_peer_ratios: the ratios compared across peers, one row per borrower and month end, with
-- the borrower's NACE section ('unknown' when not known). fct_borrower_peer_position ranks it
-- as it is; int_peer_values puts it in long form for fct_peer_month.
-- A view: DuckDB folds it into the queries that read it.
{{ config(alias=symetrisk_credit_trends.own_alias(), materialized='view') }}
select
    m.organization_number,
    m.month_end,
    coalesce(d.nace_section, 'unknown') as nace_section,
    m.equity_ratio,
    m.cash_cover_months,
    k.operating_margin_t12m,
    k.nibd_to_ebitda,
    k.interest_coverage
from {{ ref('symetrisk__fct_borrower_month') }} as m
left join {{ ref('symetrisk__dim_borrower') }} as d on d.organization_number = m.organization_number
left join {{ ref('symetrisk__fct_borrower_kpis') }} as k
    on k.organization_number = m.organization_number and k.month_end = m.month_end
