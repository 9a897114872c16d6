-- fct_borrower_kpis: one row per borrower and month end with the ratios credit analysts ask for,
-- as far as the NS 4102 lines of a snapshot allow. Month arithmetic as in fct_borrower_month:
-- "12 months" are the 12 calendar months ending at this month (null unless all are present),
-- "3 months" the 3 calendar months ending at it. A ratio is null, never an error or infinity,
-- when its denominator is zero, negative or unknown.
{{ config(alias=symetrisk_credit_trends.own_alias()) }}
with snapshots as (
    select
        *,
        {{ month_number('month_end') }} as month_number
    from {{ ref('symetrisk__stg_accounting_snapshots') }}
),

rolling as (
    select
        *,
        -- over the 12 (or 3) rows ending at this one; the counts are null unless those rows are
        -- 12 (3) calendar months in a row, so every figure below, guarded by a count, is one of
        -- the 12 (3) calendar months ending at this month (macros/functions.sql)
        {{ count_in_last_months('operating_revenue', 12) }} as months_12,
        sum(operating_revenue) over {{ last_rows(12) }} as revenue_12,
        sum(operating_result) over {{ last_rows(12) }} as operating_result_12,
        sum(operating_result + depreciation) over {{ last_rows(12) }} as ebitda_12,
        sum(financial_expenses) over {{ last_rows(12) }} as financial_expenses_12,
        sum(cost_of_goods_sold) over {{ last_rows(12) }} as cost_of_goods_sold_12,
        sum(cost_of_goods_sold + other_operating_expenses) over {{ last_rows(12) }} as purchases_12,
        {{ count_in_last_months('operating_expenses', 12) }} as opex_months_12,
        avg(operating_expenses) over {{ last_rows(12) }} as opex_avg_12,
        {{ count_in_last_months('cash_and_bank', 12) }} as cash_months_12,
        {{ count_in_last_months('total_assets', 12) }} as assets_months_12,
        avg(total_equity) over {{ last_rows(12) }} as equity_avg_12,
        avg(total_assets) over {{ last_rows(12) }} as assets_avg_12,
        avg(cash_and_bank) over {{ last_rows(12) }} as cash_avg_12,
        avg(long_term_liabilities + other_short_term_liabilities - cash_and_bank)
            over {{ last_rows(12) }} as nibd_avg_12,
        {{ count_in_last_months('long_term_liabilities + other_short_term_liabilities - cash_and_bank', 12) }}
            as nibd_months_12,
        {{ count_in_last_months('operating_result', 3) }} as months_3,
        {{ count_in_last_months('cash_and_bank', 3) }} as cash_months_3,
        avg(cash_and_bank) over {{ last_rows(3) }} as cash_avg_3,
        avg(operating_result + depreciation) over {{ last_rows(3) }} as ebitda_avg_3,
        avg(accounts_payable) over {{ last_rows(3) }} as accounts_payable_avg_3,
        avg(accounts_receivable) over {{ last_rows(3) }} as accounts_receivable_avg_3,
        {{ count_in_last_months('operating_revenue', 3) }} as revenue_months_3,
        avg(operating_revenue) over {{ last_rows(3) }} as revenue_avg_3,
        avg(public_duties_payable) over {{ last_rows(3) }} as public_duties_avg_3
    from snapshots
),

kpis as (
    select
        organization_number,
        month_end,
        month_number,
        -- revenue_month: the month's operating revenue (the base of revenue_change_month_yoy)
        operating_revenue as revenue_month,
        case when months_12 = 12 then revenue_12 end as revenue_t12m,
        case when months_12 = 12 then ebitda_12 end as ebitda_t12m,
        case when months_12 = 12 then financial_expenses_12 end as financial_expenses_t12m,

        -- operating_margin_t12m: operating result over the 12 months / operating revenue over
        --   the same months; null unless that revenue is above zero.
        case when months_12 = 12 and revenue_12 > 0 then operating_result_12 / revenue_12 end
            as operating_margin_t12m,

        -- net_interest_bearing_debt: long-term liabilities + other short-term liabilities (the
        --   NS 4102 lines that hold bank loans and the drawn credit line) − cash and bank. An
        --   approximation: other short-term liabilities also hold some accruals.
        long_term_liabilities + other_short_term_liabilities - cash_and_bank
            as net_interest_bearing_debt,

        -- nibd_to_ebitda: net interest-bearing debt / EBITDA over the 12 months (operating
        --   result + depreciation); null unless that EBITDA is above zero.
        case when months_12 = 12 and ebitda_12 > 0
            then (long_term_liabilities + other_short_term_liabilities - cash_and_bank) / ebitda_12
        end as nibd_to_ebitda,

        -- interest_coverage: operating result over the 12 months / financial expenses over the
        --   same months; null unless those expenses are above zero.
        case when months_12 = 12 and financial_expenses_12 > 0
            then operating_result_12 / financial_expenses_12
        end as interest_coverage,

        -- ebitda_interest_coverage: EBITDA over the 12 months / financial expenses over the
        --   same months (what the cash from operations pays of the interest); null unless those
        --   expenses are above zero.
        case when months_12 = 12 and financial_expenses_12 > 0
            then ebitda_12 / financial_expenses_12
        end as ebitda_interest_coverage,

        -- cash_cover_months_smoothed: the average cash and bank over the 3 months / the average
        --   monthly operating expenses over the 12 months: cash cover without the seasons (a
        --   month's low cash or a peak month's costs); null unless all 15 values are there and
        --   those expenses are above zero.
        case when cash_months_3 = 3 and opex_months_12 = 12 and opex_avg_12 > 0
            then cash_avg_3 / opex_avg_12
        end as cash_cover_months_smoothed,

        -- cash_cover_months_t12m: the average cash and bank over the 12 months / the average
        --   monthly operating expenses over the same months: cash cover through a whole year,
        --   so a seasonal business's trough (and its peak) do not move it; null unless all 24
        --   values are there and those expenses are above zero.
        case when cash_months_12 = 12 and opex_months_12 = 12 and opex_avg_12 > 0
            then cash_avg_12 / opex_avg_12
        end as cash_cover_months_t12m,

        -- cash_runway_months_t12m: for a borrower that lost money over the 12 months, cash and
        --   bank / the average monthly EBITDA loss over those months (how many months the cash
        --   lasts at a year's burn); null when the 12 months' EBITDA is zero or positive
        --   (a seasonal business losing money only in its off-season) or unknown.
        case when months_12 = 12 and ebitda_12 < 0 then cash_and_bank / (-ebitda_12 / 12) end
            as cash_runway_months_t12m,

        -- nibd_to_ebitda_t12m: the average net interest-bearing debt over the 12 months / EBITDA
        --   over the same months (the debt through the year, not on the day the season's cash
        --   peaks or bottoms); null unless all 12 months are there and that EBITDA is above 0.
        case when months_12 = 12 and nibd_months_12 = 12 and ebitda_12 > 0
            then nibd_avg_12 / ebitda_12
        end as nibd_to_ebitda_t12m,

        -- equity_ratio_t12m: the average total equity over the 12 months / the average total
        --   assets over the same months (the year's equity ratio, past the season's swing in
        --   assets and in equity); null unless all 12 months are there and those assets are
        --   above zero.
        case when assets_months_12 = 12 and assets_avg_12 > 0 then equity_avg_12 / assets_avg_12 end
            as equity_ratio_t12m,

        -- equity_ratio_month: total equity / total assets of the month (as fct_borrower_month's
        --   equity_ratio); null unless those assets are above zero. The base of
        --   equity_ratio_season_adjusted.
        case when total_assets > 0 then total_equity / total_assets end as equity_ratio_month,

        -- net_liquidity_months: cash and bank − other short-term liabilities (the NS 4102 line
        --   that holds the drawn credit line), in months of the 12 months' average operating
        --   expenses; negative for a borrower living on its credit line; null unless those
        --   expenses are known and above zero. The base of net_liquidity_change_yoy.
        case when opex_months_12 = 12 and opex_avg_12 > 0
            then (cash_and_bank - other_short_term_liabilities) / opex_avg_12
        end as net_liquidity_months,

        -- days_sales_outstanding: accounts receivable / operating revenue over the 12 months
        --   × 365; null unless that revenue is above zero.
        case when months_12 = 12 and revenue_12 > 0 then accounts_receivable / revenue_12 * 365 end
            as days_sales_outstanding,

        -- days_payables_outstanding: accounts payable / (cost of goods sold + other operating
        --   expenses) over the 12 months × 365 (what is bought on credit: goods and services,
        --   not payroll); null unless those purchases are above zero.
        case when months_12 = 12 and purchases_12 > 0 then accounts_payable / purchases_12 * 365 end
            as days_payables_outstanding,

        -- inventory_days: inventory / cost of goods sold over the 12 months × 365; null for a
        --   company without inventory (null line) or without cost of goods sold.
        case when months_12 = 12 and cost_of_goods_sold_12 > 0
            then inventory / cost_of_goods_sold_12 * 365
        end as inventory_days,

        -- working_capital: total current assets − total short-term liabilities.
        total_current_assets - total_short_term_liabilities as working_capital,

        -- cash_runway_months: for a borrower burning cash, cash and bank / the average monthly
        --   EBITDA loss over the 3 months (how many months the cash lasts at that burn); null
        --   when that average EBITDA is zero or positive (not loss-making) or unknown.
        case when months_3 = 3 and ebitda_avg_3 < 0 then cash_and_bank / (-ebitda_avg_3) end
            as cash_runway_months,

        -- days_payables_3m: the average accounts payable over the 3 months / the 12 months'
        --   purchases × 365 (smoothed over month-to-month payment timing); the base of
        --   days_payables_change_yoy.
        case when months_12 = 12 and months_3 = 3 and purchases_12 > 0
            then accounts_payable_avg_3 / purchases_12 * 365
        end as days_payables_3m,

        -- days_sales_3m: the average accounts receivable over the 3 months / operating revenue
        --   over the 12 months × 365 (smoothed over month-to-month timing); the base of
        --   days_sales_change_yoy.
        case when months_12 = 12 and months_3 = 3 and revenue_12 > 0
            then accounts_receivable_avg_3 / revenue_12 * 365
        end as days_sales_3m,

        -- days_sales_recent: the average accounts receivable over the 3 months / the average
        --   monthly operating revenue of the same 3 months × 365 / 12: the days of the latest
        --   sales the customers still owe (receivables against the sales they came from, so the
        --   season is on both sides); the base of days_sales_change_6m. Null unless the 3
        --   months are there and their revenue is above zero.
        case when months_3 = 3 and revenue_months_3 = 3 and revenue_avg_3 > 0
            then accounts_receivable_avg_3 / revenue_avg_3 * 365 / 12
        end as days_sales_recent,

        -- public_duties_months: the average public duties payable (VAT, withholding tax,
        --   employer's contribution) over the 3 months, in months of operating revenue
        --   (/ (revenue over the 12 months / 12)); unpaid duties pile up before a failure.
        case when months_12 = 12 and months_3 = 3 and revenue_12 > 0
            then public_duties_avg_3 / (revenue_12 / 12)
        end as public_duties_months
    from rolling
),

-- the same borrower's values exactly 12 (and 6) calendar months earlier (null when that month
-- is missing), by a join on the month number rather than a second window pass over every row
year_ago as (
    select
        k.*,
        p.days_payables_3m as days_payables_3m_prior_year,
        p.public_duties_months as public_duties_months_prior_year,
        p.revenue_month as revenue_month_prior_year,
        p.days_sales_3m as days_sales_3m_prior_year,
        p.net_liquidity_months as net_liquidity_months_prior_year,
        p.operating_margin_t12m as operating_margin_t12m_prior_year,
        p.equity_ratio_month as equity_ratio_month_prior_year,
        h.days_sales_recent as days_sales_recent_6m_before,
        h.days_sales_3m as days_sales_3m_6m_before
    from kpis as k
    left join kpis as p
        on p.organization_number = k.organization_number and p.month_number = k.month_number - 12
    left join kpis as h
        on h.organization_number = k.organization_number and h.month_number = k.month_number - 6
)

select
    *,
    -- days_payables_change_yoy: days_payables_3m / its value 12 calendar months earlier − 1
    --   (suppliers waiting longer); null unless both are known and the earlier one above zero.
    case when days_payables_3m_prior_year > 0
        then days_payables_3m / days_payables_3m_prior_year - 1
    end as days_payables_change_yoy,
    -- public_duties_change_yoy: public_duties_months / its value 12 calendar months earlier − 1
    --   (the same month of the two-month VAT term); null unless both known, the earlier above 0.
    case when public_duties_months_prior_year > 0
        then public_duties_months / public_duties_months_prior_year - 1
    end as public_duties_change_yoy,
    -- revenue_change_month_yoy: the month's operating revenue / the same calendar month's a year
    --   earlier − 1 (the same point of the season, so seasonality cancels out); null unless
    --   both are known and the earlier one is above zero.
    case when revenue_month_prior_year > 0
        then revenue_month / revenue_month_prior_year - 1
    end as revenue_change_month_yoy,
    -- days_sales_change_yoy: days_sales_3m / its value 12 calendar months earlier − 1
    --   (customers paying later: receivables outgrowing sales); null unless both are known and
    --   the earlier one is above zero.
    case when days_sales_3m_prior_year > 0
        then days_sales_3m / days_sales_3m_prior_year - 1
    end as days_sales_change_yoy,
    -- days_sales_change_6m: how much more the customers owe than 6 calendar months earlier, on
    --   two readings, the smaller of the two: days_sales_recent (receivables against the same
    --   months' sales) and days_sales_3m (against the 12 months' sales), each on its value 6
    --   months earlier − 1. Half a year apart is half a season apart: a seasonal business whose
    --   receivables follow its sales moves on the second reading only, and one whose
    --   receivables do not, on the first only; customers paying later move both. Seen with 18
    --   months of history where days_sales_change_yoy needs 24; null unless all four are known
    --   and the earlier ones are above zero.
    -- (least() passes over a null: each side is checked here)
    case when days_sales_recent_6m_before > 0 and days_sales_3m_6m_before > 0
        and days_sales_recent is not null and days_sales_3m is not null
        then least(
            days_sales_recent / days_sales_recent_6m_before,
            days_sales_3m / days_sales_3m_6m_before
        ) - 1
    end as days_sales_change_6m,
    -- net_liquidity_change_yoy: net_liquidity_months − its value 12 calendar months earlier
    --   (the months of costs of liquidity gained or lost over the year, at the same point of
    --   the season: cash spent, the credit line drawn); null unless both are known.
    net_liquidity_months - net_liquidity_months_prior_year as net_liquidity_change_yoy,
    -- operating_margin_change_yoy: operating_margin_t12m − its value 12 calendar months earlier
    --   (percentage points of revenue lost or gained over a year; both whole years, so the
    --   season is in neither); null unless both are known.
    operating_margin_t12m - operating_margin_t12m_prior_year as operating_margin_change_yoy,
    -- equity_ratio_season_adjusted: the month's equity ratio, unless the season explains it:
    --   the higher of equity_ratio_month and equity_ratio_t12m + (equity_ratio_month − its
    --   value 12 calendar months earlier), i.e. the year's equity ratio moved by what the
    --   equity ratio gained or lost on the same point of the season a year before. Below zero
    --   only when both are: the month's equity is negative, and not merely the season's low
    --   (a hotel whose equity dips below zero every winter and recovers every summer). The
    --   month's own ratio when the year before or the 12 months are not known (the first year).
    case
        when equity_ratio_month is null then null
        when equity_ratio_month_prior_year is null or equity_ratio_t12m is null
        then equity_ratio_month
        else greatest(
            equity_ratio_month,
            equity_ratio_t12m + equity_ratio_month - equity_ratio_month_prior_year
        )
    end as equity_ratio_season_adjusted
from year_ago
