-- int_monitoring_spells: one row per borrower and spell of monitoring, the months in which the
-- bank sees the borrower's books: it holds the borrower's consent, and the borrower has sent a
-- snapshot that month or in the var('stale_data_months') (default 2) months before it.
-- Monitoring ends
--   'consent_revoked': in the month consent was revoked (the bank no longer sees the books;
--     monitored again from the first snapshot after consent is approved again), or
--   'stopped_reporting': in the month after stale_data_months months in a row without a
--     snapshot (the month stale_data opens); monitored again from the next snapshot;
-- whichever comes first. Snapshots of a month without consent (from the revocation up to a
-- renewed approval) start no spell.
--   monitored_from_month: the spell's first snapshot; last_reported_month: its last;
--   monitoring_ended_month: the first month no longer monitored (null while monitored at the
--     newest month of the warehouse); end_reason: why (null while monitored);
--   next_reported_month: the first snapshot after the spell (consent held), if any;
--   revoked_after_month: the first revocation after the spell's last snapshot and no later than
--     that next snapshot, if any (it ends the spell, or the stale_data episode that did).
-- Month numbers (year × 12 + month) beside each month, for arithmetic.
{{ config(alias=symetrisk_credit_trends.own_alias(), materialized='table') }}
{%- set stale = var('stale_data_months', 2) %}
with revocations as (
    -- each revocation, and the first approval after it (consent restored), if any
    select
        r.organization_number,
        {{ month_number(utc_date('r.revoked_at')) }} as revoked_number,
        {{ dbt.last_day(utc_date('r.revoked_at'), 'month') }} as revoked_month,
        min({{ month_number(utc_date('a.valid_from')) }}) as restored_number
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

-- the snapshots of months with consent
reports as (
    select m.organization_number, m.month_number, m.month_end
    from {{ ref('symetrisk__fct_borrower_month') }} as m
    where not exists (
        select 1
        from revocations as r
        where r.organization_number = m.organization_number
            and m.month_number >= r.revoked_number
            and (r.restored_number is null or m.month_number < r.restored_number)
    )
),

ordered as (
    select
        *,
        lag(month_number) over (partition by organization_number order by month_number)
            as previous_number
    from reports
),

-- a snapshot starts a spell when it is the borrower's first, when more than stale_data_months
-- months passed since the one before, or when consent was revoked in between
breaks as (
    select
        o.*,
        case
            when o.previous_number is null then 1
            when o.month_number - o.previous_number - 1 > {{ stale }} then 1
            when exists (
                select 1
                from revocations as r
                where r.organization_number = o.organization_number
                    and r.revoked_number > o.previous_number
                    and r.revoked_number <= o.month_number
            ) then 1
            else 0
        end as is_start
    from ordered as o
),

numbered as (
    select
        *,
        sum(is_start) over (
            partition by organization_number order by month_number
            rows between unbounded preceding and current row
        ) as spell
    from breaks
),

spells as (
    select
        organization_number,
        spell,
        min(month_number) as monitored_from_number,
        min(month_end) as monitored_from_month,
        max(month_number) as last_reported_number,
        max(month_end) as last_reported_month
    from numbered
    group by organization_number, spell
),

bounded as (
    select
        s.*,
        lead(s.monitored_from_number) over (
            partition by s.organization_number order by s.spell
        ) as next_reported_number,
        lead(s.monitored_from_month) over (
            partition by s.organization_number order by s.spell
        ) as next_reported_month,
        (select max(month_number) from {{ ref('symetrisk__fct_borrower_month') }})
            as as_of_number
    from spells as s
),

revoked_after as (
    select
        b.organization_number,
        b.spell,
        min(r.revoked_number) as revoked_after_number,
        min(r.revoked_month) as revoked_after_month
    from bounded as b
    inner join revocations as r
        on r.organization_number = b.organization_number
        and r.revoked_number > b.last_reported_number
        and (b.next_reported_number is null or r.revoked_number <= b.next_reported_number)
    group by b.organization_number, b.spell
),

ends as (
    select
        b.*,
        v.revoked_after_number,
        v.revoked_after_month,
        -- silent for more than stale_data_months months after the last snapshot (up to the next
        -- one, or past the newest month of the warehouse)
        case
            when coalesce(b.next_reported_number, b.as_of_number + 1) - b.last_reported_number - 1
                > {{ stale }}
            then b.last_reported_number + {{ stale }} + 1
        end as stopped_number
    from bounded as b
    left join revoked_after as v
        on v.organization_number = b.organization_number and v.spell = b.spell
)

select
    organization_number,
    spell,
    monitored_from_month,
    monitored_from_number,
    last_reported_month,
    last_reported_number,
    case
        when revoked_after_number is not null
            and (stopped_number is null or revoked_after_number <= stopped_number)
        then revoked_after_month
        when stopped_number is not null
        then {{ month_end_after('last_reported_month', stale + 1) }}
    end as monitoring_ended_month,
    case
        when revoked_after_number is not null
            and (stopped_number is null or revoked_after_number <= stopped_number)
        then revoked_after_number
        else stopped_number
    end as monitoring_ended_number,
    case
        when revoked_after_number is not null
            and (stopped_number is null or revoked_after_number <= stopped_number)
        then 'consent_revoked'
        when stopped_number is not null
        then 'stopped_reporting'
    end as end_reason,
    next_reported_month,
    next_reported_number,
    revoked_after_month,
    revoked_after_number,
    as_of_number
from ends
