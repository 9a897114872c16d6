-- stg_accounting_snapshots: one row per borrower and month, as loaded into
-- symetrisk_raw.accounting_snapshots, typed and renamed and nothing else.
--   * snapshot_date (the month's last day)         -> month_end
--   * income_statement__month__<line>              -> <line>        (the month's figure)
--   * income_statement__year_to_date__<line>       -> ytd_<line>    (January to this month)
--   * balance_sheet__<line>                        -> <line>        (at the month's end)
-- Amounts are NOK. Every column is cast, so an empty stand-in table (see pipelines/models.py)
-- gives the same types as a real load.
select
    cast(organization_number as varchar) as organization_number,
    cast(snapshot_date as date) as month_end,
    cast(id as bigint) as snapshot_id,
    cast(updated_at as timestamptz) as updated_at,
    cast(symetrisk_real_time_accounts_format_version as varchar) as format_version,
    cast("year" as integer) as fiscal_year,
    cast("month" as integer) as fiscal_month,
    cast(currency as varchar) as currency,
    -- income statement, this month
    cast(income_statement__month__sales_revenue as double) as sales_revenue,
    cast(income_statement__month__other_operating_income as double) as other_operating_income,
    cast(income_statement__month__operating_revenue as double) as operating_revenue,
    cast(income_statement__month__cost_of_goods_sold as double) as cost_of_goods_sold,
    cast(income_statement__month__payroll_expenses as double) as payroll_expenses,
    cast(income_statement__month__depreciation as double) as depreciation,
    cast(income_statement__month__other_operating_expenses as double) as other_operating_expenses,
    cast(income_statement__month__operating_expenses as double) as operating_expenses,
    cast(income_statement__month__operating_result as double) as operating_result,
    cast(income_statement__month__financial_income as double) as financial_income,
    cast(income_statement__month__financial_expenses as double) as financial_expenses,
    cast(income_statement__month__result_before_tax as double) as result_before_tax,
    cast(income_statement__month__tax_expense as double) as tax_expense,
    cast(income_statement__month__net_result as double) as net_result,
    -- income statement, year to date
    cast(income_statement__year_to_date__sales_revenue as double) as ytd_sales_revenue,
    cast(income_statement__year_to_date__other_operating_income as double) as ytd_other_operating_income,
    cast(income_statement__year_to_date__operating_revenue as double) as ytd_operating_revenue,
    cast(income_statement__year_to_date__cost_of_goods_sold as double) as ytd_cost_of_goods_sold,
    cast(income_statement__year_to_date__payroll_expenses as double) as ytd_payroll_expenses,
    cast(income_statement__year_to_date__depreciation as double) as ytd_depreciation,
    cast(income_statement__year_to_date__other_operating_expenses as double) as ytd_other_operating_expenses,
    cast(income_statement__year_to_date__operating_expenses as double) as ytd_operating_expenses,
    cast(income_statement__year_to_date__operating_result as double) as ytd_operating_result,
    cast(income_statement__year_to_date__financial_income as double) as ytd_financial_income,
    cast(income_statement__year_to_date__financial_expenses as double) as ytd_financial_expenses,
    cast(income_statement__year_to_date__result_before_tax as double) as ytd_result_before_tax,
    cast(income_statement__year_to_date__tax_expense as double) as ytd_tax_expense,
    cast(income_statement__year_to_date__net_result as double) as ytd_net_result,
    -- balance sheet at the month's end
    cast(balance_sheet__intangible_assets as double) as intangible_assets,
    cast(balance_sheet__tangible_fixed_assets as double) as tangible_fixed_assets,
    cast(balance_sheet__financial_fixed_assets as double) as financial_fixed_assets,
    cast(balance_sheet__total_fixed_assets as double) as total_fixed_assets,
    cast(balance_sheet__inventory as double) as inventory,
    cast(balance_sheet__accounts_receivable as double) as accounts_receivable,
    cast(balance_sheet__other_receivables as double) as other_receivables,
    cast(balance_sheet__cash_and_bank as double) as cash_and_bank,
    cast(balance_sheet__total_current_assets as double) as total_current_assets,
    cast(balance_sheet__total_assets as double) as total_assets,
    cast(balance_sheet__share_capital as double) as share_capital,
    cast(balance_sheet__retained_earnings as double) as retained_earnings,
    cast(balance_sheet__total_equity as double) as total_equity,
    cast(balance_sheet__provisions as double) as provisions,
    cast(balance_sheet__long_term_liabilities as double) as long_term_liabilities,
    cast(balance_sheet__accounts_payable as double) as accounts_payable,
    cast(balance_sheet__tax_payable as double) as tax_payable,
    cast(balance_sheet__public_duties_payable as double) as public_duties_payable,
    cast(balance_sheet__other_short_term_liabilities as double) as other_short_term_liabilities,
    cast(balance_sheet__total_short_term_liabilities as double) as total_short_term_liabilities,
    cast(balance_sheet__total_liabilities as double) as total_liabilities,
    cast(balance_sheet__total_equity_and_liabilities as double) as total_equity_and_liabilities
from symetrisk_raw.accounting_snapshots
