-- stg_credit_scores: every credit score fetched for a debtor (one row per calculation), from
-- symetrisk_raw.credit_scores, typed and renamed. Empty for a bank client.
{{ config(alias=symetrisk_credit_trends.own_alias()) }}
select
    cast(organization_number as {{ dbt.type_string() }}) as organization_number,
    cast(score as {{ double_type() }}) as credit_score,
    cast(risk_class as {{ dbt.type_string() }}) as risk_class,
    cast(probability_of_default as {{ double_type() }}) as probability_of_default,
    cast(calculated_at as {{ timestamp_tz_type() }}) as calculated_at,
    cast(based_on_snapshot_date as date) as based_on_snapshot_date,
    cast(fetched_at as {{ timestamp_tz_type() }}) as fetched_at
from {{ source('symetrisk', 'credit_scores') }}
