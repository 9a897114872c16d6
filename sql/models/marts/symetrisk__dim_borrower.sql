-- dim_borrower: one row per borrower company the warehouse knows of, from any source: the
-- bank's borrowers and relationships, a credit scorer's debtors, accounting snapshots and credit
-- scores. Every borrower named in another mart has a row here.
-- (union all, then distinct: BigQuery has no bare UNION and Snowflake no UNION DISTINCT)
{{ config(alias=symetrisk_credit_trends.own_alias()) }}
with borrower_ids as (
    select distinct organization_number
    from (
        select organization_number from {{ ref('symetrisk__stg_borrowers') }}
        union all
        select organization_number from {{ ref('symetrisk__stg_relationships') }}
        union all
        select organization_number from {{ ref('symetrisk__stg_debtors') }}
        union all
        select organization_number from {{ ref('symetrisk__stg_accounting_snapshots') }}
        union all
        select organization_number from {{ ref('symetrisk__stg_credit_scores') }}
    ) as named
),

-- The current version of each relationship: the open SCD2 row (valid_to null), or, if every
-- row is closed, the newest one.
current_relationship as (
    select *
    from (
        select
            *,
            row_number() over (
                partition by organization_number
                order by case when valid_to is null then 0 else 1 end, valid_from desc nulls last
            ) as version_rank
        from {{ ref('symetrisk__stg_relationships') }}
    ) as ranked
    where version_rank = 1
),

-- Consent dates over the relationship's whole history:
--   consent_requested_at: the first time access was requested (requested_at, or else when a
--     version in state access_requested was first seen);
--   consent_approved_at: the latest approval (approved_at, or else when a version in state
--     access_approved was seen);
--   consent_revoked_at: the latest revocation (revoked_at, or else when a version in state
--     access_revoked was seen); kept after a later re-approval;
--   consent_denied_at: the latest refusal, alike.
consent_history as (
    select
        organization_number,
        coalesce(
            min(requested_at),
            min(case when relationship_state = 'access_requested' then valid_from end)
        ) as consent_requested_at,
        coalesce(
            max(approved_at),
            max(case when relationship_state = 'access_approved' then valid_from end)
        ) as consent_approved_at,
        coalesce(
            max(revoked_at),
            max(case when relationship_state = 'access_revoked' then valid_from end)
        ) as consent_revoked_at,
        coalesce(
            max(denied_at),
            max(case when relationship_state = 'access_denied' then valid_from end)
        ) as consent_denied_at
    from {{ ref('symetrisk__stg_relationships') }}
    group by organization_number
),

debtor as (
    select *
    from (
        select
            *,
            row_number() over (
                partition by organization_number order by requested_at desc nulls last
            ) as debtor_rank
        from {{ ref('symetrisk__stg_debtors') }}
    ) as ranked
    where debtor_rank = 1
),

snapshot_span as (
    select
        organization_number,
        min(month_end) as first_snapshot_month,
        max(month_end) as last_snapshot_month,
        count(*) as snapshot_months
    from {{ ref('symetrisk__stg_accounting_snapshots') }}
    group by organization_number
)

select
    i.organization_number,
    coalesce(b.borrower_name, r.company_name, d.debtor_name) as borrower_name,
    -- Industry: the NACE code (e.g. 47.110) and its section letter (A–U).
    b.nace_code,
    b.nace_section,
    b.founded_date,
    b.municipality,
    b.accounting_system,
    b.connection_status,
    b.consented_to_share_data,
    -- relationship_state: the current relationship's state, else what the borrower object or
    --   the debtor list says.
    coalesce(r.relationship_state, b.relationship_state, d.relationship_state)
        as relationship_state,
    coalesce(c.consent_requested_at, d.requested_at) as consent_requested_at,
    coalesce(c.consent_approved_at, d.approved_at) as consent_approved_at,
    c.consent_revoked_at,
    c.consent_denied_at,
    s.first_snapshot_month,
    s.last_snapshot_month,
    coalesce(s.snapshot_months, 0) as snapshot_months,
    d.organization_number is not null as is_debtor
from borrower_ids as i
left join {{ ref('symetrisk__stg_borrowers') }} as b on b.organization_number = i.organization_number
left join current_relationship as r on r.organization_number = i.organization_number
left join consent_history as c on c.organization_number = i.organization_number
left join debtor as d on d.organization_number = i.organization_number
left join snapshot_span as s on s.organization_number = i.organization_number
