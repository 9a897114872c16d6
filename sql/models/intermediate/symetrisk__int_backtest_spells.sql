-- int_backtest_spells: the spells a borrower spent under a warning, for the backtest: one row
-- per borrower, flag and spell, as month numbers (macros/functions.sql month_number).
--   every flag of fct_warning_episodes: its episodes, from opened_month to closed_month (any
--     severity);
--   'watchlist': from act_month to closed_month of every episode that reached act, merged over
--     the flags (a borrower is on the watchlist while any such episode is open);
--   'any_warning': every episode of any flag and severity, merged the same way.
-- start_month is the first month under the warning; end_month the first month no longer under
-- it (an episode's closed_month), null while it is open. Overlapping or touching spells of one
-- borrower and flag are one spell.
{{ config(alias=symetrisk_credit_trends.own_alias()) }}
{%- set open_end = 999999 %}
with episodes as (
    select
        organization_number,
        flag,
        {{ month_number('opened_month') }} as opened,
        case when act_month is not null
            then {{ month_number('act_month') }}
        end as act_from,
        case when closed_month is not null
            then {{ month_number('closed_month') }}
        end as closed
    from {{ ref('symetrisk__fct_warning_episodes') }}
),

intervals as (
    select organization_number, flag, opened as start_month, coalesce(closed, {{ open_end }}) as end_month,
        flag as source
    from episodes
    union all
    select organization_number, 'watchlist' as flag, act_from as start_month,
        coalesce(closed, {{ open_end }}) as end_month, flag as source
    from episodes
    where act_from is not null
    union all
    select organization_number, 'any_warning' as flag, opened as start_month,
        coalesce(closed, {{ open_end }}) as end_month, flag as source
    from episodes
),

reached as (
    select
        organization_number,
        flag,
        start_month,
        end_month,
        source,
        max(end_month) over (
            partition by organization_number, flag
            order by start_month, end_month, source
            rows between unbounded preceding and 1 preceding
        ) as reach
    from intervals
    where end_month > start_month
),

numbered as (
    select
        organization_number,
        flag,
        start_month,
        end_month,
        sum(case when reach is null or start_month > reach then 1 else 0 end) over (
            partition by organization_number, flag
            order by start_month, end_month, source
            rows between unbounded preceding and current row
        ) as spell_number
    from reached
)

select
    organization_number,
    flag,
    spell_number,
    min(start_month) as start_month,
    case when max(end_month) < {{ open_end }} then max(end_month) end as end_month
from numbered
group by organization_number, flag, spell_number
