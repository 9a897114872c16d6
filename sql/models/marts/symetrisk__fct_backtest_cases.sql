-- fct_backtest_cases: one row per flag (every flag, 'watchlist', 'any_warning': see
-- int_backtest_spells) and default of the bank's default history (stg_defaults): did the
-- warning come, and how long before the default?
--   default_month_number: the month of default_date; history_months: that month minus the
--     borrower's first reported month;
--   case_status: 'scored' when the borrower is in the warehouse, the default is no later than
--     the warehouse's newest month and at least 13 months of history come before it (12 months
--     of history before a warning one month ahead); otherwise why not: 'not_in_warehouse',
--     'after_newest_month', 'history_too_short';
--   lead_months: the default month minus the first of the var('backtest_lookback_months')
--     (24) months before it in which the borrower was under the warning; null when it was under
--     none of them (or the case is not scored). A case counts for recall at L months' lead when
--     history_months >= L + 12, and is warned at that lead when lead_months >= L.
{{ config(alias=symetrisk_credit_trends.own_alias()) }}
{%- set lookback = var('backtest_lookback_months', 24) %}
with borrowers as (
    {{ backtest_borrowers() }}
),

newest as (
    {{ backtest_newest() }}
),

flags as (
    {{ backtest_flags() }}
),

defaults as (
    select
        organization_number,
        default_date,
        kind,
        {{ month_number('default_date') }} as default_month_number
    from {{ ref('symetrisk__stg_defaults') }}
),

cases as (
    select
        f.flag,
        d.organization_number,
        d.default_date,
        d.default_month_number,
        d.kind,
        b.nace_section,
        b.first_month,
        d.default_month_number - b.first_month as history_months,
        case
            when b.organization_number is null then 'not_in_warehouse'
            when d.default_month_number > n.newest_month then 'after_newest_month'
            when d.default_month_number - b.first_month < 13 then 'history_too_short'
            else 'scored'
        end as case_status
    from defaults as d
    cross join flags as f
    cross join newest as n
    left join borrowers as b on b.organization_number = d.organization_number
),

warned as (
    select
        c.flag,
        c.organization_number,
        min(s.start_month) as first_start
    from cases as c
    inner join {{ ref('symetrisk__int_backtest_spells') }} as s
        on s.organization_number = c.organization_number
        and s.flag = c.flag
        and s.start_month <= c.default_month_number - 1
        and (s.end_month is null or s.end_month > c.default_month_number - {{ lookback }})
    group by c.flag, c.organization_number
)

select
    c.flag,
    c.organization_number,
    c.default_date,
    c.default_month_number,
    c.kind,
    c.nace_section,
    c.history_months,
    {{ history_band('c.history_months') }} as history_band,
    c.case_status,
    case when c.case_status = 'scored' and w.first_start is not null
        then c.default_month_number - greatest(w.first_start, c.default_month_number - {{ lookback }})
    end as lead_months
from cases as c
left join warned as w
    on w.flag = c.flag and w.organization_number = c.organization_number
