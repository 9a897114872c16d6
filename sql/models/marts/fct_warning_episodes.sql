-- fct_warning_episodes: one row per borrower, flag and episode. A flag's month is "past" when
-- its metric is past the watch or act threshold (int_warning_signals). An episode opens in the
-- month that makes open_after_months (var warning_open_months, default 3) reported months in a
-- row past, and closes in the month that makes close_after_months (var warning_close_months,
-- default 3) reported months in a row back inside (closed_month; null while open: a borrower
-- that stops reporting keeps its open episodes). Between the two it stays open, so a metric
-- hovering at its threshold is one episode, not many. Covenants open and close at once (1, 1).
-- Months without a snapshot neither open nor close an episode, nor do months where the metric
-- is unknown: "in a row" counts the months with a value.
--   peak_severity: 'act' if any month of the episode (opened_month up to closed_month) reached
--   the act threshold, else 'watch';
--   act_month: the first such month at act (null for a watch episode);
--   the values behind it: metric, comparison, thresholds, opening_value (the month it opened),
--   worst_value (furthest past the threshold: lowest for < and <=, highest for > and >=),
--   last_value (the last month of the episode past a threshold), months_flagged (the months of
--   the episode past a threshold).
-- Two flags on events rather than metrics: stale_data opens in the month after
-- var('stale_data_months') (default 2) months in a row passed without a snapshot and closes
-- with the next snapshot (severity act); consent_revoked opens in the month a relationship
-- was revoked (watch) and stays open.
with signals as (
    select
        *,
        case when level > 0 then 1 else 0 end as is_past,
        row_number() over (partition by organization_number, flag order by month_number)
            as row_index
    from {{ ref('int_warning_signals') }}
),

-- runs of consecutive reported months on the same side of the threshold, and each month's
-- position in its run
runs as (
    select
        *,
        row_index - row_number() over (
            partition by organization_number, flag, is_past order by month_number
        ) as run_id
    from signals
),

positioned as (
    select
        *,
        row_number() over (
            partition by organization_number, flag, is_past, run_id order by month_number
        ) as run_position
    from runs
),

-- a month that completes a run long enough to open (1) or to close (0) an episode; every
-- later month takes the state of the last such month
triggers as (
    select
        *,
        case
            when is_past = 1 and run_position = open_after_months then 1
            when is_past = 0 and run_position = close_after_months then 0
        end as trigger_state
    from positioned
),

trigger_groups as (
    select
        *,
        sum(case when trigger_state is not null then 1 else 0 end) over (
            partition by organization_number, flag order by month_number
            rows between unbounded preceding and current row
        ) as trigger_number
    from triggers
),

states as (
    select
        *,
        coalesce(
            max(trigger_state) over (partition by organization_number, flag, trigger_number), 0
        ) as in_episode
    from trigger_groups
),

numbered as (
    select
        *,
        sum(case when in_episode = 1 and coalesce(previous_state, 0) = 0 then 1 else 0 end) over (
            partition by organization_number, flag order by month_number
            rows between unbounded preceding and current row
        ) as episode_number
    from (
        select
            *,
            lag(in_episode) over (partition by organization_number, flag order by month_number)
                as previous_state
        from states
    ) as s
),

grouped as (
    select
        organization_number,
        flag,
        episode_number,
        min(metric) as metric,
        min(comparison) as comparison,
        min(watch_threshold) as watch_threshold,
        min(act_threshold) as act_threshold,
        min(case when in_episode = 1 then month_end end) as opened_month,
        min(case when in_episode = 0 then month_end end) as closed_month,
        max(case when in_episode = 1 then level end) as peak_level,
        min(case when in_episode = 1 and level = 2 then month_end end) as act_month,
        max(case when in_episode = 1 and level > 0 then month_end end) as last_flagged_month,
        sum(case when in_episode = 1 and level > 0 then 1 else 0 end) as months_flagged,
        min(case when in_episode = 1 and level > 0 then value end) as lowest_value,
        max(case when in_episode = 1 and level > 0 then value end) as highest_value
    from numbered
    where episode_number > 0
    group by organization_number, flag, episode_number
),

metric_episodes as (
    select
        g.organization_number,
        g.flag,
        g.opened_month,
        g.closed_month,
        case when g.peak_level = 2 then 'act' else 'watch' end as peak_severity,
        g.act_month,
        g.metric,
        g.comparison,
        g.watch_threshold,
        g.act_threshold,
        o.value as opening_value,
        case when g.comparison in ('<', '<=') then g.lowest_value else g.highest_value end
            as worst_value,
        l.value as last_value,
        g.months_flagged
    from grouped as g
    inner join numbered as o
        on o.organization_number = g.organization_number
        and o.flag = g.flag
        and o.month_end = g.opened_month
    inner join numbered as l
        on l.organization_number = g.organization_number
        and l.flag = g.flag
        and l.month_end = g.last_flagged_month
),

silences as (
    select
        organization_number,
        month_end,
        month_number,
        lead(month_number) over (partition by organization_number order by month_number)
            as next_month_number,
        lead(month_end) over (partition by organization_number order by month_number)
            as next_month_end,
        max(month_number) over () as as_of_month_number
    from {{ ref('fct_borrower_month') }}
),

stale_data as (
    select
        organization_number,
        'stale_data' as flag,
        {{ dbt.last_day(dbt.dateadd('month', var('stale_data_months', 2) + 1, 'month_end'), 'month') }}
            as opened_month,
        next_month_end as closed_month,
        'act' as peak_severity,
        {{ dbt.last_day(dbt.dateadd('month', var('stale_data_months', 2) + 1, 'month_end'), 'month') }}
            as act_month,
        'months_without_snapshot' as metric,
        '>' as comparison,
        cast(null as {{ double_type() }}) as watch_threshold,
        cast({{ var('stale_data_months', 2) }} as {{ double_type() }}) as act_threshold,
        cast(coalesce(next_month_number, as_of_month_number + 1) - month_number - 1
            as {{ double_type() }}) as opening_value,
        cast(coalesce(next_month_number, as_of_month_number + 1) - month_number - 1
            as {{ double_type() }}) as worst_value,
        cast(coalesce(next_month_number, as_of_month_number + 1) - month_number - 1
            as {{ double_type() }}) as last_value,
        0 as months_flagged
    from silences
    where coalesce(next_month_number, as_of_month_number + 1) - month_number - 1
        > {{ var('stale_data_months', 2) }}
),

consent_revoked as (
    select
        organization_number,
        'consent_revoked' as flag,
        min({{ dbt.last_day(utc_date('coalesce(revoked_at, valid_from)'), 'month') }})
            as opened_month,
        cast(null as date) as closed_month,
        'watch' as peak_severity,
        cast(null as date) as act_month,
        'relationship_state' as metric,
        '=' as comparison,
        cast(null as {{ double_type() }}) as watch_threshold,
        cast(null as {{ double_type() }}) as act_threshold,
        cast(null as {{ double_type() }}) as opening_value,
        cast(null as {{ double_type() }}) as worst_value,
        cast(null as {{ double_type() }}) as last_value,
        0 as months_flagged
    from {{ ref('stg_relationships') }}
    where relationship_state = 'access_revoked'
    group by organization_number
)

select * from metric_episodes
union all
select * from stale_data
union all
select * from consent_revoked
