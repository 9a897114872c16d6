-- fct_early_warnings: one row per borrower, flag and month the flag fired, with the value that
-- fired it (metric, metric_value, threshold) and the values behind it (details, a JSON object).
--
-- A flag on a condition (negative equity, thin equity, falling revenue, operating losses, thin
-- cash) fires in every month the condition holds, so "which borrowers have an open warning in
-- month M" is "which have a row with month_end = M". A flag on an event (Altman Z'' entering
-- distress, consent revoked, snapshots stopping) fires once, in the month of the event.
-- All month arithmetic is on calendar months (fct_borrower_month.month_number), not on rows.
with months as (
    select * from {{ ref('fct_borrower_month') }}
),

-- negative_equity: total_equity below zero.
negative_equity as (
    select
        organization_number,
        month_end,
        'negative_equity' as flag,
        'total_equity' as metric,
        total_equity as metric_value,
        cast(0.0 as {{ double_type() }}) as threshold,
        {{ json_object_of([
            ('total_equity', 'total_equity'),
            ('total_assets', 'total_assets'),
            ('total_liabilities', 'total_liabilities')
        ]) }} as details
    from months
    where total_equity < 0
),

-- low_equity_ratio: equity_ratio (total_equity / total_assets) below 10 %.
low_equity_ratio as (
    select
        organization_number,
        month_end,
        'low_equity_ratio' as flag,
        'equity_ratio' as metric,
        equity_ratio as metric_value,
        cast(0.10 as {{ double_type() }}) as threshold,
        {{ json_object_of([
            ('total_equity', 'total_equity'),
            ('total_assets', 'total_assets')
        ]) }} as details
    from months
    where equity_ratio < 0.10
),

-- revenue_decline_yoy: revenue_t12m more than 20 % below its value 12 calendar months earlier
-- (revenue_growth_yoy below −0.20).
revenue_decline as (
    select
        organization_number,
        month_end,
        'revenue_decline_yoy' as flag,
        'revenue_growth_yoy' as metric,
        revenue_growth_yoy as metric_value,
        cast(-0.20 as {{ double_type() }}) as threshold,
        {{ json_object_of([
            ('revenue_t12m', 'revenue_t12m'),
            ('revenue_t12m_prior_year', 'revenue_t12m_prior_year')
        ]) }} as details
    from months
    where revenue_growth_yoy < -0.20
),

-- operating_loss_3_months: operating_result below zero in this month and in each of the two
-- calendar months before it (all three present).
operating_losses as (
    select
        organization_number,
        month_end,
        'operating_loss_3_months' as flag,
        'operating_result' as metric,
        operating_result as metric_value,
        cast(0.0 as {{ double_type() }}) as threshold,
        {{ json_object_of([
            ('operating_result', 'operating_result'),
            ('operating_loss_months_3m', 'operating_loss_months_3m')
        ]) }} as details
    from months
    where operating_loss_months_3m = 3
),

-- low_cash_cover: cash_and_bank covers less than 3 months of operating expenses, i.e.
-- cash_and_bank < 3 × the average monthly operating_expenses over the 3 calendar months ending
-- at this month (all three present, average above zero); metric cash_cover_months.
low_cash_cover as (
    select
        organization_number,
        month_end,
        'low_cash_cover' as flag,
        'cash_cover_months' as metric,
        cash_cover_months as metric_value,
        cast(3.0 as {{ double_type() }}) as threshold,
        {{ json_object_of([
            ('cash_and_bank', 'cash_and_bank'),
            ('avg_operating_expenses_3m', 'avg_operating_expenses_3m')
        ]) }} as details
    from months
    where cash_cover_months < 3
),

-- altman_distress_entry: altman_zone is 'distress' and the calendar month before was not
-- (another zone, a zone that could not be computed, or no snapshot).
distress_entry as (
    select
        organization_number,
        month_end,
        'altman_distress_entry' as flag,
        'altman_z' as metric,
        altman_z as metric_value,
        cast(1.10 as {{ double_type() }}) as threshold,
        {{ json_object_of([
            ('altman_z', 'altman_z'),
            ('previous_month_altman_zone', 'previous_month_altman_zone'),
            ('x1', 'altman_x1'),
            ('x2', 'altman_x2'),
            ('x3', 'altman_x3'),
            ('x4', 'altman_x4')
        ]) }} as details
    from months
    where altman_zone = 'distress' and previous_month_altman_zone is distinct from 'distress'
),

-- stale_data: more than 2 calendar months in a row without a snapshot. The as-of month is the
-- newest month end of the whole portfolio (so a rebuild gives the same answer any day). After a
-- snapshot in month M the next one is expected in M + 1; when months M + 1, M + 2 and M + 3
-- all pass without one (before the next snapshot, or up to the as-of month), the flag fires
-- once, in month M + 3. metric months_without_snapshot: how many months the silence lasted
-- (until the next snapshot, or until the as-of month when none came).
silences as (
    select
        organization_number,
        month_end,
        month_number,
        lead(month_number) over (partition by organization_number order by month_number)
            as next_month_number,
        lead(month_end) over (partition by organization_number order by month_number)
            as next_month_end,
        max(month_number) over () as as_of_month_number,
        max(month_end) over () as as_of_month_end
    from months
),

stale_data as (
    select
        organization_number,
        {{ month_end_after('month_end', 3) }} as month_end,
        'stale_data' as flag,
        'months_without_snapshot' as metric,
        cast(
            coalesce(next_month_number - month_number - 1, as_of_month_number - month_number)
            as {{ double_type() }}
        ) as metric_value,
        cast(2.0 as {{ double_type() }}) as threshold,
        {{ json_object_of([
            ('last_snapshot_month', 'month_end'),
            ('next_snapshot_month', 'next_month_end'),
            ('as_of_month', 'as_of_month_end')
        ]) }} as details
    from silences
    where coalesce(next_month_number - month_number - 1, as_of_month_number - month_number) > 2
),

-- consent_revoked: a relationship version in state access_revoked; fires in the month (UTC)
-- of revoked_at, or of when that version was first seen if revoked_at is missing.
consent_revoked as (
    select
        organization_number,
        {{ dbt.last_day(utc_date('coalesce(revoked_at, valid_from)'), 'month') }} as month_end,
        'consent_revoked' as flag,
        'relationship_state' as metric,
        cast(null as {{ double_type() }}) as metric_value,
        cast(null as {{ double_type() }}) as threshold,
        {{ json_object_of([
            ('revoked_at', 'min(coalesce(revoked_at, valid_from))'),
            ('relationship_state', "'access_revoked'")
        ]) }} as details
    from {{ ref('stg_relationships') }}
    where relationship_state = 'access_revoked'
    group by
        organization_number,
        {{ dbt.last_day(utc_date('coalesce(revoked_at, valid_from)'), 'month') }}
)

select * from negative_equity
union all
select * from low_equity_ratio
union all
select * from revenue_decline
union all
select * from operating_losses
union all
select * from low_cash_cover
union all
select * from distress_entry
union all
select * from stale_data
union all
select * from consent_revoked
