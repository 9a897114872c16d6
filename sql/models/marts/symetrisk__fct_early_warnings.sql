-- fct_early_warnings: the events of the warning episodes (fct_warning_episodes), one row each:
--   'opened': an episode opened, in its first month, at the severity it opened with ('act'
--     when the first month already reached the act threshold, else 'watch');
--   'escalated': a watch episode rose to act, in the first month at act.
-- So a state that lasts (thin equity month after month) is one event, not one row a month.
-- metric_value is the value that month; threshold the one crossed (act or watch); details
-- the episode's other values (JSON text).
{{ config(alias=symetrisk_credit_trends.own_alias()) }}
with episodes as (
    select * from {{ ref('symetrisk__fct_warning_episodes') }}
),

signals as (
    select organization_number, flag, month_end, value
    from {{ ref('symetrisk__int_warning_signals') }}
)

select
    e.organization_number,
    e.opened_month as month_end,
    e.flag,
    'opened' as event,
    case when e.act_month = e.opened_month then 'act' else 'watch' end as severity,
    e.metric,
    e.opening_value as metric_value,
    case when e.act_month = e.opened_month then e.act_threshold else e.watch_threshold end
        as threshold,
    e.opened_month as episode_opened_month,
    e.closed_month as episode_closed_month
from episodes as e

union all

select
    e.organization_number,
    e.act_month as month_end,
    e.flag,
    'escalated' as event,
    'act' as severity,
    e.metric,
    s.value as metric_value,
    e.act_threshold as threshold,
    e.opened_month as episode_opened_month,
    e.closed_month as episode_closed_month
from episodes as e
left join signals as s
    on s.organization_number = e.organization_number
    and s.flag = e.flag
    and s.month_end = e.act_month
where e.act_month > e.opened_month
