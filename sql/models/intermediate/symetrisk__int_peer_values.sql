-- int_peer_values: the ratios compared across peers (int_peer_ratios) in long form, one row per
-- borrower, month end and metric with a known value. Feeds fct_peer_month.
-- A view, not a table: writing its rows cost more than computing them where they are read.
{{ config(alias=symetrisk_credit_trends.own_alias(), materialized='view') }}
with months as (
    select * from {{ ref('symetrisk__int_peer_ratios') }}
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
