"""The lines of an accounting snapshot (docs/data-contract.md): the income statement's NS 4102
groups and the balance sheet's, named once for the sandbox that serves them, the loader that
flattens them and the tests and benchmarks that build them."""

INCOME_LINES = (
    "sales_revenue",
    "other_operating_income",
    "operating_revenue",
    "cost_of_goods_sold",
    "payroll_expenses",
    "depreciation",
    "other_operating_expenses",
    "operating_expenses",
    "operating_result",
    "financial_income",
    "financial_expenses",
    "result_before_tax",
    "tax_expense",
    "net_result",
)
BALANCE_LINES = (
    "intangible_assets",
    "tangible_fixed_assets",
    "financial_fixed_assets",
    "total_fixed_assets",
    "inventory",
    "accounts_receivable",
    "other_receivables",
    "cash_and_bank",
    "total_current_assets",
    "total_assets",
    "share_capital",
    "retained_earnings",
    "total_equity",
    "provisions",
    "long_term_liabilities",
    "accounts_payable",
    "tax_payable",
    "public_duties_payable",
    "other_short_term_liabilities",
    "total_short_term_liabilities",
    "total_liabilities",
    "total_equity_and_liabilities",
)

# The lines the marts compute from (raw column -> the marts that need it), checked before the
# model build (pipelines/warehouse/missing_lines.py): fct_borrower_month's KPIs feed the trend,
# the early warnings and the portfolio; the revisions mart compares six measures.
_MONTH = ("fct_borrower_month", "fct_borrower_trend", "fct_early_warnings", "fct_portfolio_month")
_REVISIONS = ("fct_snapshot_revisions",)
MART_LINES = {
    "income_statement__month__operating_revenue": _MONTH + _REVISIONS,
    "income_statement__month__operating_expenses": _MONTH,
    "income_statement__month__depreciation": _MONTH,
    "income_statement__month__operating_result": _MONTH + _REVISIONS,
    "income_statement__month__net_result": _MONTH + _REVISIONS,
    "balance_sheet__cash_and_bank": _MONTH + _REVISIONS,
    "balance_sheet__total_current_assets": _MONTH,
    "balance_sheet__total_assets": _MONTH + _REVISIONS,
    "balance_sheet__retained_earnings": _MONTH,
    "balance_sheet__total_equity": _MONTH + _REVISIONS,
    "balance_sheet__total_short_term_liabilities": _MONTH,
    "balance_sheet__total_liabilities": _MONTH,
}
