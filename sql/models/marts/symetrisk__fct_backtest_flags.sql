-- fct_backtest_flags: the backtest over all borrowers, one row per flag, 'watchlist' (episodes
-- that reached act) and 'any_warning': fct_backtest_breakdown's rows of dimension 'all'
-- (the columns and their formulas are described there).
{{ config(alias=symetrisk_credit_trends.own_alias()) }}
select *
from {{ ref('symetrisk__fct_backtest_breakdown') }}
where dimension = 'all'
