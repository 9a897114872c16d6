-- fct_backtest_entries: the watchlist's (and each flag's) precision: one row per spell under
-- a flag (int_backtest_spells), by the month it started (entry_month_number): did the borrower
-- default within 12 and 24 months of going under it?
--   history_months: the entry month minus the borrower's first reported month; measurable: at
--     least 12 of them (only measurable entries are counted, fct_backtest_breakdown);
--   defaulted_within_12m: 1 when the borrower's default (stg_defaults) falls in the entry month
--     or the 12 after it, 0 when not; null when the warehouse's newest month is less than 12
--     months after the entry (a window too short to know). defaulted_within_24m the same over
--     24 months.
{{ config(alias=symetrisk_credit_trends.own_alias()) }}
with borrowers as (
    {{ backtest_borrowers() }}
),

newest as (
    {{ backtest_newest() }}
),

defaults as (
    select organization_number, min({{ month_number('default_date') }}) as default_month_number
    from {{ ref('symetrisk__stg_defaults') }}
    group by organization_number
)

select
    s.flag,
    s.organization_number,
    b.nace_section,
    s.start_month as entry_month_number,
    s.start_month - b.first_month as history_months,
    {{ history_band('s.start_month - b.first_month') }} as history_band,
    s.start_month - b.first_month >= 12 as measurable,
    d.default_month_number,
    {%- for months in [12, 24] %}
    case when s.start_month + {{ months }} <= n.newest_month then
        case when d.default_month_number between s.start_month and s.start_month + {{ months }}
            then 1 else 0 end
    end as defaulted_within_{{ months }}m{{ "," if not loop.last }}
    {%- endfor %}
from {{ ref('symetrisk__int_backtest_spells') }} as s
inner join borrowers as b on b.organization_number = s.organization_number
cross join newest as n
left join defaults as d on d.organization_number = s.organization_number
