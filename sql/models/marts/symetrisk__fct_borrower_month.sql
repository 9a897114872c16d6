-- fct_borrower_month: one row per borrower and month end, with the credit KPIs of that month.
--
-- How months are counted. Every month end gets a month number, year × 12 + month, so two
-- consecutive calendar months differ by exactly 1 whatever rows exist. "The 12 months ending at
-- this month" is the range of month numbers [this − 11, this], never "the last 12 rows": a
-- borrower with a missing month has fewer than 12 months in that range, and the 12-month figure
-- is then null rather than a sum over 13 or more calendar months.
--
-- Nulls, never errors or infinity. Every ratio is null when its denominator is zero, negative
-- (where a negative denominator makes no sense) or unknown; every 12-month figure is null
-- unless all 12 calendar months are present with a value.
{{ config(alias=symetrisk_credit_trends.own_alias()) }}
with snapshots as (
    select
        *,
        {{ month_number('month_end') }} as month_number
    from {{ ref('symetrisk__stg_accounting_snapshots') }}
),

-- Revisions. A month was revised after it was first loaded when the loader has seen more than
-- one version of it (the raw table accounting_snapshot_versions). No version rows (a fresh
-- warehouse): version_count 0, is_revised false.
versions as (
    select
        organization_number,
        month_end,
        count(*) as version_count,
        min(first_seen_at) as first_loaded_at
    from {{ ref('symetrisk__stg_accounting_snapshot_versions') }}
    group by organization_number, month_end
),

rolling as (
    select
        *,
        -- Sums and counts over the 12 calendar months ending at this month (see above): over the
        -- 12 rows ending at this one, with counts that are null unless those rows are 12
        -- calendar months in a row (macros/functions.sql), and each sum is used only when its
        -- count is 12.
        sum(operating_revenue) over {{ last_rows(12) }} as revenue_sum_12,
        {{ count_in_last_months('operating_revenue', 12) }} as revenue_months_12,
        sum(operating_result + depreciation) over {{ last_rows(12) }} as ebitda_sum_12,
        {{ count_in_last_months('operating_result + depreciation', 12) }} as ebitda_months_12,
        sum(operating_result) over {{ last_rows(12) }} as operating_result_sum_12,
        {{ count_in_last_months('operating_result', 12) }} as operating_result_months_12,
        -- Over the 3 calendar months ending at this month: operating expenses (average, used
        -- when all 3 are there) and the number of months with an operating loss
        -- (operating_result below zero; of the months there, so over the calendar months).
        avg(operating_expenses) over {{ last_rows(3) }} as opex_avg_3,
        {{ count_in_last_months('operating_expenses', 3) }} as opex_months_3,
        sum(case when operating_result < 0 then 1 else 0 end) over {{ last_calendar_months(3) }} as loss_months_3
    from snapshots
),

kpis as (
    select
        organization_number,
        month_end,
        month_number,
        operating_revenue,
        operating_expenses,
        operating_result,
        depreciation,
        net_result,
        cash_and_bank,
        total_current_assets,
        total_assets,
        retained_earnings,
        total_equity,
        total_short_term_liabilities,
        total_liabilities,

        -- revenue_t12m: the sum of operating_revenue over the 12 calendar months ending at this
        --   month; null unless all 12 months are present with a value.
        -- ebitda_t12m: the same 12-month sum of (operating_result + depreciation).
        -- operating_result_t12m: the same 12-month sum of operating_result.
        case when revenue_months_12 = 12 then revenue_sum_12 end as revenue_t12m,
        case when ebitda_months_12 = 12 then ebitda_sum_12 end as ebitda_t12m,
        case when operating_result_months_12 = 12 then operating_result_sum_12 end
            as operating_result_t12m,

        -- equity_ratio: total_equity / total_assets; null unless total_assets is above zero.
        -- current_ratio: total_current_assets / total_short_term_liabilities; null unless the
        --   short-term liabilities are above zero.
        case when total_assets > 0 then total_equity / total_assets end as equity_ratio,
        case when total_short_term_liabilities > 0
            then total_current_assets / total_short_term_liabilities
        end as current_ratio,

        -- Cash cover: how many months of operating expenses the cash pays for.
        -- avg_operating_expenses_3m: the average monthly operating_expenses over the 3 calendar
        --   months ending at this month; null unless all 3 months are present with a value.
        -- cash_cover_months: cash_and_bank / avg_operating_expenses_3m; null unless that
        --   average is above zero (a company with no running costs has no cash burn to cover).
        case when opex_months_3 = 3 then opex_avg_3 end as avg_operating_expenses_3m,
        case when opex_months_3 = 3 and opex_avg_3 > 0 then cash_and_bank / opex_avg_3 end
            as cash_cover_months,

        -- operating_loss_months_3m: of the 3 calendar months ending at this month, how many are
        --   present with operating_result below zero (3 = three months in a row with a loss).
        loss_months_3 as operating_loss_months_3m,

        -- Altman Z'' (private, non-manufacturing firms), each part null when its denominator is
        -- not above zero:
        --   X1 = working capital / total assets
        --      = (total_current_assets − total_short_term_liabilities) / total_assets
        --   X2 = retained_earnings / total_assets
        --   X3 = operating result over the last 12 months / total assets
        --      = operating_result_t12m / total_assets
        --   X4 = book equity / total liabilities = total_equity / total_liabilities
        case when total_assets > 0
            then (total_current_assets - total_short_term_liabilities) / total_assets
        end as altman_x1,
        case when total_assets > 0 then retained_earnings / total_assets end as altman_x2,
        case when total_assets > 0 and operating_result_months_12 = 12
            then operating_result_sum_12 / total_assets
        end as altman_x3,
        case when total_liabilities > 0 then total_equity / total_liabilities end as altman_x4,

        updated_at
    from rolling
),

scored as (
    select
        *,
        -- altman_z = 6.56·X1 + 3.26·X2 + 6.72·X3 + 1.05·X4; null when any part is null
        --   (e.g. fewer than 12 months of history for X3).
        6.56 * altman_x1 + 3.26 * altman_x2 + 6.72 * altman_x3 + 1.05 * altman_x4 as altman_z,
        -- ebitda_margin_t12m: ebitda_t12m / revenue_t12m; null unless revenue_t12m is above
        --   zero (no margin on zero or negative revenue).
        case when revenue_t12m > 0 then ebitda_t12m / revenue_t12m end as ebitda_margin_t12m
    from kpis
),

zoned as (
    select
        *,
        -- altman_zone: 'safe' above 2.60, 'grey' from 1.10 to 2.60, 'distress' below 1.10;
        --   null when altman_z is null.
        case
            when altman_z > 2.60 then 'safe'
            when altman_z >= 1.10 then 'grey'
            when altman_z < 1.10 then 'distress'
        end as altman_zone
    from scored
),

-- The same borrower's values exactly 12 calendar months earlier (null when that month is
-- missing), and the zone of the calendar month just before this one: joins on the month number
-- rather than a second window pass over every row.
year_ago as (
    select
        z.*,
        a.revenue_t12m as revenue_t12m_prior_year,
        p.altman_zone as previous_month_altman_zone
    from zoned as z
    left join zoned as a
        on a.organization_number = z.organization_number and a.month_number = z.month_number - 12
    left join zoned as p
        on p.organization_number = z.organization_number and p.month_number = z.month_number - 1
)

select
    y.organization_number,
    y.month_end,
    y.month_number,
    y.operating_revenue,
    y.operating_expenses,
    y.operating_result,
    y.depreciation,
    y.net_result,
    y.cash_and_bank,
    y.total_current_assets,
    y.total_assets,
    y.retained_earnings,
    y.total_equity,
    y.total_short_term_liabilities,
    y.total_liabilities,
    y.revenue_t12m,
    y.ebitda_t12m,
    y.ebitda_margin_t12m,
    y.operating_result_t12m,
    y.revenue_t12m_prior_year,
    -- revenue_growth_yoy: revenue_t12m / revenue_t12m of 12 calendar months earlier − 1; null
    --   unless both are known and the earlier one is above zero.
    case when y.revenue_t12m_prior_year > 0
        then y.revenue_t12m / y.revenue_t12m_prior_year - 1
    end as revenue_growth_yoy,
    y.equity_ratio,
    y.current_ratio,
    y.avg_operating_expenses_3m,
    y.cash_cover_months,
    y.operating_loss_months_3m,
    y.altman_x1,
    y.altman_x2,
    y.altman_x3,
    y.altman_x4,
    y.altman_z,
    y.altman_zone,
    y.previous_month_altman_zone,
    coalesce(v.version_count, 0) as version_count,
    -- is_revised: the loader has seen more than one version of this month.
    coalesce(v.version_count, 0) > 1 as is_revised,
    v.first_loaded_at,
    y.updated_at
from year_ago as y
left join versions as v
    on v.organization_number = y.organization_number and v.month_end = y.month_end
