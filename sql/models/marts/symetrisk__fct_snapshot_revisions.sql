-- fct_snapshot_revisions: one row per borrower and month that was revised after it was first
-- loaded (late vouchers booked after the month was first published), comparing the first
-- version the loader saw with the newest one.
--
-- versions: how many distinct versions of the month were seen (always 2 or more here).
-- first_updated_at / last_updated_at: the API's updated_at of the first and newest versions
--   (null when the API sends none: versions are ordered by when the loader first saw them).
-- <figure>_first, <figure>_last: the figure in the first and the newest version.
-- <figure>_change: newest minus first, in NOK; null when either is unknown.
-- operating_revenue_change_pct: that change over the first version's revenue; null unless the
--   first version's revenue is positive.
{{ config(alias=symetrisk_credit_trends.own_alias()) }}
with revised as (
    -- the months with more than one version (most have one: ranking only these is cheaper)
    select organization_number, month_end, count(*) as versions
    from {{ ref('symetrisk__stg_accounting_snapshot_versions') }}
    group by organization_number, month_end
    having count(*) > 1
),

ranked as (
    select
        v.*,
        row_number() over (
            partition by v.organization_number, v.month_end order by v.first_seen_at, v.updated_at
        ) as first_rank,
        row_number() over (
            partition by v.organization_number, v.month_end
            order by v.first_seen_at desc nulls last, v.updated_at desc nulls last
        ) as last_rank,
        r.versions
    from {{ ref('symetrisk__stg_accounting_snapshot_versions') }} as v
    inner join revised as r
        on r.organization_number = v.organization_number and r.month_end = v.month_end
),

first_version as (
    select * from ranked where first_rank = 1 and versions > 1
),

last_version as (
    select * from ranked where last_rank = 1 and versions > 1
)

select
    f.organization_number,
    f.month_end,
    f.versions,
    f.updated_at as first_updated_at,
    l.updated_at as last_updated_at,
    f.operating_revenue as operating_revenue_first,
    l.operating_revenue as operating_revenue_last,
    l.operating_revenue - f.operating_revenue as operating_revenue_change,
    case
        when f.operating_revenue > 0
            then (l.operating_revenue - f.operating_revenue) / f.operating_revenue
    end as operating_revenue_change_pct,
    f.operating_result as operating_result_first,
    l.operating_result as operating_result_last,
    l.operating_result - f.operating_result as operating_result_change,
    f.total_equity as total_equity_first,
    l.total_equity as total_equity_last,
    l.total_equity - f.total_equity as total_equity_change,
    f.cash_and_bank as cash_and_bank_first,
    l.cash_and_bank as cash_and_bank_last,
    l.cash_and_bank - f.cash_and_bank as cash_and_bank_change
from first_version as f
inner join last_version as l
    on f.organization_number = l.organization_number and f.month_end = l.month_end
