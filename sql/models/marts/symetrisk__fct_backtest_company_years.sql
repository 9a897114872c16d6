-- fct_backtest_company_years: the company-years on which false alarms are counted: one row per
-- flag (as fct_backtest_cases), borrower that is not in the default history (stg_defaults, any
-- date) and 12-month window in which it reported at least one month.
--   The windows end 12, 24, 36, ... months before the warehouse's newest month, so each has
--   12 months of follow-up after it in which a default would have been known
--   (window_start_month .. window_end_month, month numbers, and window_end as a date);
--   history_months: the window's first month minus the borrower's first reported month;
--   measurable: at least 12 months of history before the window (history_months >= 12); only
--     measurable company-years are counted (fct_backtest_breakdown);
--   alarm: 1 when a spell of the flag started in the window (the borrower went under the
--     warning, or onto the watchlist), else 0.
{{ config(alias=symetrisk_credit_trends.own_alias()) }}
with borrowers as (
    {{ backtest_borrowers() }}
),

newest as (
    {{ backtest_newest() }}
),

flags as (
    {{ backtest_flags() }}
),

windows as (
    select distinct m.month_number as window_end_month, m.month_end as window_end
    from {{ ref('symetrisk__fct_borrower_month') }} as m
    cross join newest as n
    where m.month_number <= n.newest_month - 12
        and mod(n.newest_month - m.month_number, 12) = 0
),

reported as (
    select distinct m.organization_number, w.window_end_month, w.window_end
    from {{ ref('symetrisk__fct_borrower_month') }} as m
    inner join windows as w
        on m.month_number between w.window_end_month - 11 and w.window_end_month
    where m.organization_number not in (
        select organization_number from {{ ref('symetrisk__stg_defaults') }}
        where organization_number is not null
    )
),

company_years as (
    select
        r.organization_number,
        b.nace_section,
        r.window_end_month - 11 as window_start_month,
        r.window_end_month,
        r.window_end,
        r.window_end_month - 11 - b.first_month as history_months
    from reported as r
    inner join borrowers as b on b.organization_number = r.organization_number
),

starts as (
    select distinct c.organization_number, c.window_end_month, s.flag
    from company_years as c
    inner join {{ ref('symetrisk__int_backtest_spells') }} as s
        on s.organization_number = c.organization_number
        and s.start_month between c.window_start_month and c.window_end_month
)

select
    f.flag,
    c.organization_number,
    c.nace_section,
    c.window_start_month,
    c.window_end_month,
    c.window_end,
    c.history_months,
    {{ history_band('c.history_months') }} as history_band,
    c.history_months >= 12 as measurable,
    case when s.flag is not null then 1 else 0 end as alarm
from company_years as c
cross join flags as f
left join starts as s
    on s.organization_number = c.organization_number
    and s.window_end_month = c.window_end_month
    and s.flag = f.flag
