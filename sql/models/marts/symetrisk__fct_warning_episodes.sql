-- fct_warning_episodes: one row per borrower, flag and episode. A flag's month is "past" when
-- its metric is past the watch or act threshold (int_warning_signals). An episode opens in the
-- month that makes open_after_months (var warning_open_months, default 3) reported months in a
-- row past, and closes in the month that makes close_after_months (var warning_close_months,
-- default 3) reported months in a row back inside (closed_reason 'back_inside'). Between the
-- two it stays open, so a metric hovering at its threshold is one episode, not many. A month
-- past a rule's severe threshold opens an episode at act at once (int_warning_signals
-- is_severe), as a covenant breach does; it closes as any other.
-- Covenants open and close at once (1, 1).
-- Monitoring ends an episode too: episodes are worked out within a spell of monitoring
-- (int_monitoring_spells: consent held, no more than var('stale_data_months') months without
-- a snapshot), and an episode still open when its spell ends closes then, for the spell's
-- reason ('consent_revoked', 'stopped_reporting'); a later spell starts afresh. closed_month
-- is null only while the borrower is monitored and the episode open.
-- Months without a snapshot neither open nor close an episode, nor do months where the metric
-- is unknown: "in a row" counts the months with a value.
--   peak_severity: 'act' if any month of the episode (opened_month up to closed_month) reached
--   the act threshold, else 'watch';
--   act_month: the first such month at act (null for a watch episode);
--   the values behind it: metric, comparison, thresholds, opening_value (the month it opened),
--   worst_value (furthest past the threshold: lowest for < and <=, highest for > and >=),
--   last_value (the last month of the episode past a threshold), months_flagged (the months of
--   the episode past a threshold).
-- Two flags on monitoring itself: stale_data (act) opens in the month after
-- var('stale_data_months') (default 2) months in a row passed without a snapshot, and closes
-- with the next snapshot ('reporting_resumed'), the revocation ('consent_revoked') or
-- var('monitoring_lapse_months') (default 12) months after it opened ('lapsed');
-- consent_revoked (watch) opens in the month of a revocation and closes in the month consent
-- is approved again ('consent_restored') or var('monitoring_lapse_months') after it opened.
-- How it is computed (fast at a million snapshots: the month-by-month state machine is worked
-- out on runs and triggers, a few rows per borrower and flag, not on every month's full row):
-- number each borrower's, flag's and spell's reported months (row_index); cut them into runs
-- of months in a row on the same side of the threshold; a run long enough triggers "open" (its
-- open_after_months-th month) or "close" (its close_after_months-th month); the state in a
-- month is that of the last trigger at or before it, so the triggers that change the state
-- open and close the episodes; the months from one opening up to the next are its months.
{{ config(alias=symetrisk_credit_trends.own_alias()) }}
{%- set stale = var('stale_data_months', 2) %}
{%- set lapse = var('monitoring_lapse_months', 12) %}
with candidates as (
    -- the borrowers' flags with at least open_after_months months past a threshold (any other
    -- never opens an episode: most never do, so the rest is worked out for few rows)
    select organization_number, flag
    from {{ ref('symetrisk__int_warning_signals') }}
    group by organization_number, flag
    having sum(case when level > 0 then 1 else 0 end) >= min(open_after_months)
        or max(is_severe) = 1
),

spells as (
    select * from {{ ref('symetrisk__int_monitoring_spells') }}
),

-- their signals in monitored months, with the spell of monitoring each belongs to (all rows
-- of those flags: the episodes' months come from here too); a month without consent has none
candidate_signals as (
    select s.*, p.spell
    from {{ ref('symetrisk__int_warning_signals') }} as s
    inner join candidates as c
        on c.organization_number = s.organization_number and c.flag = s.flag
    inner join spells as p
        on p.organization_number = s.organization_number
        and s.month_number >= p.monitored_from_number
        and s.month_number <= p.last_reported_number
),

-- numbered in month order per borrower and flag (narrow: the window sorts only what it needs)
signals as (
    select
        organization_number,
        flag,
        spell,
        month_number,
        month_end,
        open_after_months,
        close_after_months,
        case when level > 0 then 1 else 0 end as is_past,
        is_severe,
        row_number() over (partition by organization_number, flag, spell order by month_number)
            as row_index
    from candidate_signals
),

-- runs of consecutive reported months on the same side of the threshold
runs as (
    select
        organization_number,
        flag,
        spell,
        is_past,
        min(row_index) as first_index,
        count(*) as run_length,
        min(open_after_months) as open_after_months,
        min(close_after_months) as close_after_months
    from (
        select
            *,
            row_index - row_number() over (
                partition by organization_number, flag, spell, is_past order by month_number
            ) as run_id
        from signals
    ) as r
    group by organization_number, flag, spell, is_past, run_id
),

-- the month that completes a run long enough to open (1) or to close (0) an episode
-- (a run past the threshold needs open_after_months, one back inside close_after_months),
-- and every month past a severe threshold, which opens one at once
triggers as (
    select
        organization_number,
        flag,
        spell,
        first_index + needed - 1 as trigger_index,
        is_past as trigger_state
    from (
        select
            *,
            case when is_past = 1 then open_after_months else close_after_months end as needed
        from runs
    ) as r
    where needed >= 1 and run_length >= needed
    union all
    select organization_number, flag, spell, row_index as trigger_index, 1 as trigger_state
    from signals
    where is_severe = 1
),

-- the triggers that change the state (every later month takes it up to the next one): they
-- alternate, an opening (0 -> 1) first
changes as (
    select
        t.organization_number,
        t.flag,
        t.spell,
        t.trigger_index,
        t.trigger_state,
        s.month_number,
        s.month_end
    from (
        select
            *,
            lag(trigger_state) over (
                partition by organization_number, flag, spell order by trigger_index
            ) as previous_state
        from triggers
    ) as t
    inner join signals as s
        on s.organization_number = t.organization_number
        and s.flag = t.flag
        and s.spell = t.spell
        and s.row_index = t.trigger_index
    where t.trigger_state <> coalesce(t.previous_state, 0)
),

-- per episode: the month it opened, the month it closed back inside (the next change) and the
-- month the next episode of the spell opened (the change after that): its months run up to
-- that one; an episode still open at the end of its spell of monitoring closes when monitoring
-- ends, for the reason it ended (null while the borrower is monitored)
episodes as (
    select
        c.organization_number,
        c.flag,
        c.spell,
        c.opened_month_number,
        c.opened_month,
        coalesce(c.back_inside_number, p.monitoring_ended_number) as closed_month_number,
        coalesce(c.back_inside_month, p.monitoring_ended_month) as closed_month,
        case when c.back_inside_number is not null then 'back_inside' else p.end_reason end
            as closed_reason,
        c.next_opened_month_number
    from (
        select
            organization_number,
            flag,
            spell,
            trigger_state,
            month_number as opened_month_number,
            month_end as opened_month,
            lead(month_number) over (
                partition by organization_number, flag, spell order by trigger_index
            ) as back_inside_number,
            lead(month_end) over (
                partition by organization_number, flag, spell order by trigger_index
            ) as back_inside_month,
            lead(month_number, 2) over (
                partition by organization_number, flag, spell order by trigger_index
            ) as next_opened_month_number
        from changes
    ) as c
    inner join spells as p on p.organization_number = c.organization_number and p.spell = c.spell
    where c.trigger_state = 1
),

-- every month of every episode, and whether the episode was open in it (from its opening up
-- to the month it closed)
episode_months as (
    select
        e.organization_number,
        e.flag,
        e.opened_month,
        e.closed_month,
        e.closed_reason,
        s.metric,
        s.comparison,
        s.watch_threshold,
        s.act_threshold,
        s.month_end,
        s.level,
        s.value,
        case
            when e.closed_month_number is null or s.month_number < e.closed_month_number then 1
            else 0
        end as in_episode
    from episodes as e
    -- an episode's flag is a candidate's (it had open_after_months months past a threshold)
    inner join candidate_signals as s
        on s.organization_number = e.organization_number
        and s.flag = e.flag
        and s.spell = e.spell
        and s.month_number >= e.opened_month_number
        and (e.next_opened_month_number is null or s.month_number < e.next_opened_month_number)
),

grouped as (
    select
        organization_number,
        flag,
        opened_month,
        closed_month,
        closed_reason,
        min(metric) as metric,
        min(comparison) as comparison,
        min(watch_threshold) as watch_threshold,
        min(act_threshold) as act_threshold,
        max(case when in_episode = 1 then level end) as peak_level,
        min(case when in_episode = 1 and level = 2 then month_end end) as act_month,
        max(case when in_episode = 1 and level > 0 then month_end end) as last_flagged_month,
        sum(case when in_episode = 1 and level > 0 then 1 else 0 end) as months_flagged,
        min(case when in_episode = 1 and level > 0 then value end) as lowest_value,
        max(case when in_episode = 1 and level > 0 then value end) as highest_value
    from episode_months
    group by organization_number, flag, opened_month, closed_month, closed_reason
),

metric_episodes as (
    select
        g.organization_number,
        g.flag,
        g.opened_month,
        g.closed_month,
        g.closed_reason,
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
    inner join episode_months as o
        on o.organization_number = g.organization_number
        and o.flag = g.flag
        and o.opened_month = g.opened_month
        and o.month_end = g.opened_month
    inner join episode_months as l
        on l.organization_number = g.organization_number
        and l.flag = g.flag
        and l.opened_month = g.opened_month
        and l.month_end = g.last_flagged_month
),

-- stale_data: a spell that ended because the borrower stopped reporting; it closes with the
-- next snapshot, when consent is revoked, or var('monitoring_lapse_months') months after it
-- opened, whichever comes first (null while none has come)
stale_data as (
    select
        organization_number,
        'stale_data' as flag,
        monitoring_ended_month as opened_month,
        case
            when revoked_after_number is not null
                and (next_reported_number is null or revoked_after_number < next_reported_number)
                and revoked_after_number < monitoring_ended_number + {{ lapse }}
            then revoked_after_month
            when next_reported_number is not null
                and next_reported_number < monitoring_ended_number + {{ lapse }}
            then next_reported_month
            when as_of_number >= monitoring_ended_number + {{ lapse }}
            then {{ month_end_after('monitoring_ended_month', lapse) }}
        end as closed_month,
        case
            when revoked_after_number is not null
                and (next_reported_number is null or revoked_after_number < next_reported_number)
                and revoked_after_number < monitoring_ended_number + {{ lapse }}
            then 'consent_revoked'
            when next_reported_number is not null
                and next_reported_number < monitoring_ended_number + {{ lapse }}
            then 'reporting_resumed'
            when as_of_number >= monitoring_ended_number + {{ lapse }}
            then 'lapsed'
        end as closed_reason,
        'act' as peak_severity,
        monitoring_ended_month as act_month,
        'months_without_snapshot' as metric,
        '>' as comparison,
        cast(null as {{ double_type() }}) as watch_threshold,
        cast({{ stale }} as {{ double_type() }}) as act_threshold,
        cast({{ stale }} + 1 as {{ double_type() }}) as opening_value,
        cast(coalesce(next_reported_number, as_of_number + 1) - last_reported_number - 1
            as {{ double_type() }}) as worst_value,
        cast(coalesce(next_reported_number, as_of_number + 1) - last_reported_number - 1
            as {{ double_type() }}) as last_value,
        0 as months_flagged
    from spells
    where end_reason = 'stopped_reporting'
),

-- consent_revoked: opens in the month of each revocation; closes in the month consent is
-- approved again, or var('monitoring_lapse_months') months after it opened
revocations as (
    select
        r.organization_number,
        {{ month_number(utc_date('r.revoked_at')) }} as revoked_number,
        {{ dbt.last_day(utc_date('r.revoked_at'), 'month') }} as revoked_month,
        min(a.valid_from) as restored_at
    from (
        select distinct organization_number, coalesce(revoked_at, valid_from) as revoked_at
        from {{ ref('symetrisk__stg_relationships') }}
        where relationship_state = 'access_revoked'
    ) as r
    left join {{ ref('symetrisk__stg_relationships') }} as a
        on a.organization_number = r.organization_number
        and a.relationship_state = 'access_approved'
        and a.valid_from > r.revoked_at
    group by r.organization_number, r.revoked_at
),

consent_revoked as (
    select
        organization_number,
        'consent_revoked' as flag,
        revoked_month as opened_month,
        case
            when restored_at is not null
                and {{ month_number(utc_date('restored_at')) }} < revoked_number + {{ lapse }}
            then {{ dbt.last_day(utc_date('restored_at'), 'month') }}
            when (select max(as_of_number) from spells) >= revoked_number + {{ lapse }}
            then {{ month_end_after('revoked_month', lapse) }}
        end as closed_month,
        case
            when restored_at is not null
                and {{ month_number(utc_date('restored_at')) }} < revoked_number + {{ lapse }}
            then 'consent_restored'
            when (select max(as_of_number) from spells) >= revoked_number + {{ lapse }}
            then 'lapsed'
        end as closed_reason,
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
    from revocations
)

select * from metric_episodes
union all
select * from stale_data
union all
select * from consent_revoked
