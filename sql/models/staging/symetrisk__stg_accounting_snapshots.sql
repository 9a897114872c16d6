-- stg_accounting_snapshots: one row per borrower and month, as loaded into
-- symetrisk_raw.accounting_snapshots, typed and renamed and nothing else.
--   * snapshot_date (the month's last day)         -> month_end
--   * income_statement__month__<line>              -> <line>        (the month's figure)
--   * income_statement__year_to_date__<line>       -> ytd_<line>    (January to this month)
--   * balance_sheet__<line>                        -> <line>        (at the month's end)
-- Amounts are NOK. Every column is cast, so every warehouse gives the same types.
{{ config(alias=symetrisk_credit_trends.own_alias()) }}
select
    cast(organization_number as {{ dbt.type_string() }}) as organization_number,
    cast(snapshot_date as date) as month_end,
    cast(id as {{ dbt.type_bigint() }}) as snapshot_id,
    cast(updated_at as {{ timestamp_tz_type() }}) as updated_at,
    cast(symetrisk_real_time_accounts_format_version as {{ dbt.type_string() }}) as format_version,
    cast({{ adapter.quote('year') }} as {{ dbt.type_int() }}) as fiscal_year,
    cast({{ adapter.quote('month') }} as {{ dbt.type_int() }}) as fiscal_month,
    cast(currency as {{ dbt.type_string() }}) as currency,
    -- income statement, this month
    cast(income_statement__month__sales_revenue as {{ double_type() }}) as sales_revenue,
    cast(income_statement__month__other_operating_income as {{ double_type() }}) as other_operating_income,
    cast(income_statement__month__operating_revenue as {{ double_type() }}) as operating_revenue,
    cast(income_statement__month__cost_of_goods_sold as {{ double_type() }}) as cost_of_goods_sold,
    cast(income_statement__month__payroll_expenses as {{ double_type() }}) as payroll_expenses,
    cast(income_statement__month__depreciation as {{ double_type() }}) as depreciation,
    cast(income_statement__month__other_operating_expenses as {{ double_type() }}) as other_operating_expenses,
    cast(income_statement__month__operating_expenses as {{ double_type() }}) as operating_expenses,
    cast(income_statement__month__operating_result as {{ double_type() }}) as operating_result,
    cast(income_statement__month__financial_income as {{ double_type() }}) as financial_income,
    cast(income_statement__month__financial_expenses as {{ double_type() }}) as financial_expenses,
    cast(income_statement__month__result_before_tax as {{ double_type() }}) as result_before_tax,
    cast(income_statement__month__tax_expense as {{ double_type() }}) as tax_expense,
    cast(income_statement__month__net_result as {{ double_type() }}) as net_result,
    -- income statement, year to date
    cast(income_statement__year_to_date__sales_revenue as {{ double_type() }}) as ytd_sales_revenue,
    cast(income_statement__year_to_date__other_operating_income as {{ double_type() }}) as ytd_other_operating_income,
    cast(income_statement__year_to_date__operating_revenue as {{ double_type() }}) as ytd_operating_revenue,
    cast(income_statement__year_to_date__cost_of_goods_sold as {{ double_type() }}) as ytd_cost_of_goods_sold,
    cast(income_statement__year_to_date__payroll_expenses as {{ double_type() }}) as ytd_payroll_expenses,
    cast(income_statement__year_to_date__depreciation as {{ double_type() }}) as ytd_depreciation,
    cast(income_statement__year_to_date__other_operating_expenses as {{ double_type() }}) as ytd_other_operating_expenses,
    cast(income_statement__year_to_date__operating_expenses as {{ double_type() }}) as ytd_operating_expenses,
    cast(income_statement__year_to_date__operating_result as {{ double_type() }}) as ytd_operating_result,
    cast(income_statement__year_to_date__financial_income as {{ double_type() }}) as ytd_financial_income,
    cast(income_statement__year_to_date__financial_expenses as {{ double_type() }}) as ytd_financial_expenses,
    cast(income_statement__year_to_date__result_before_tax as {{ double_type() }}) as ytd_result_before_tax,
    cast(income_statement__year_to_date__tax_expense as {{ double_type() }}) as ytd_tax_expense,
    cast(income_statement__year_to_date__net_result as {{ double_type() }}) as ytd_net_result,
    -- balance sheet at the month's end
    cast(balance_sheet__intangible_assets as {{ double_type() }}) as intangible_assets,
    cast(balance_sheet__tangible_fixed_assets as {{ double_type() }}) as tangible_fixed_assets,
    cast(balance_sheet__financial_fixed_assets as {{ double_type() }}) as financial_fixed_assets,
    cast(balance_sheet__total_fixed_assets as {{ double_type() }}) as total_fixed_assets,
    cast(balance_sheet__inventory as {{ double_type() }}) as inventory,
    cast(balance_sheet__accounts_receivable as {{ double_type() }}) as accounts_receivable,
    cast(balance_sheet__other_receivables as {{ double_type() }}) as other_receivables,
    cast(balance_sheet__cash_and_bank as {{ double_type() }}) as cash_and_bank,
    cast(balance_sheet__total_current_assets as {{ double_type() }}) as total_current_assets,
    cast(balance_sheet__total_assets as {{ double_type() }}) as total_assets,
    cast(balance_sheet__share_capital as {{ double_type() }}) as share_capital,
    cast(balance_sheet__retained_earnings as {{ double_type() }}) as retained_earnings,
    cast(balance_sheet__total_equity as {{ double_type() }}) as total_equity,
    cast(balance_sheet__provisions as {{ double_type() }}) as provisions,
    cast(balance_sheet__long_term_liabilities as {{ double_type() }}) as long_term_liabilities,
    cast(balance_sheet__accounts_payable as {{ double_type() }}) as accounts_payable,
    cast(balance_sheet__tax_payable as {{ double_type() }}) as tax_payable,
    cast(balance_sheet__public_duties_payable as {{ double_type() }}) as public_duties_payable,
    cast(balance_sheet__other_short_term_liabilities as {{ double_type() }}) as other_short_term_liabilities,
    cast(balance_sheet__total_short_term_liabilities as {{ double_type() }}) as total_short_term_liabilities,
    cast(balance_sheet__total_liabilities as {{ double_type() }}) as total_liabilities,
    cast(balance_sheet__total_equity_and_liabilities as {{ double_type() }}) as total_equity_and_liabilities
from {{ source('symetrisk', 'accounting_snapshots') }}
