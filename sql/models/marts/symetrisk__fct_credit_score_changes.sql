-- fct_credit_score_changes: for a credit scorer, one row per debtor and credit-score
-- calculation after its first, compared with the calculation before it (by calculated_at).
-- Empty for a bank client.
--   score_change: credit_score minus the previous one;
--   risk_class_changed: the risk class differs from the previous one;
--   migration: 'B -> C' when it changed, else null;
--   downgrade: the new class is later in the alphabet (A best, E worst).
{{ config(alias=symetrisk_credit_trends.own_alias()) }}
with scores as (
    select distinct
        organization_number,
        credit_score,
        risk_class,
        probability_of_default,
        calculated_at,
        based_on_snapshot_date
    from {{ ref('symetrisk__stg_credit_scores') }}
),

ordered as (
    select
        *,
        lag(credit_score) over (
            partition by organization_number order by calculated_at
        ) as previous_score,
        lag(risk_class) over (
            partition by organization_number order by calculated_at
        ) as previous_risk_class,
        lag(calculated_at) over (
            partition by organization_number order by calculated_at
        ) as previous_calculated_at
    from scores
)

select
    organization_number,
    calculated_at,
    based_on_snapshot_date,
    credit_score,
    previous_score,
    credit_score - previous_score as score_change,
    risk_class,
    previous_risk_class,
    probability_of_default,
    previous_calculated_at,
    risk_class <> previous_risk_class as risk_class_changed,
    case when risk_class <> previous_risk_class
        then previous_risk_class || ' -> ' || risk_class
    end as migration,
    risk_class > previous_risk_class as downgrade
from ordered
where previous_calculated_at is not null
