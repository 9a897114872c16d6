-- stg_accounting_snapshot_versions: every distinct version of a month the loader has seen, from
-- symetrisk_raw.accounting_snapshot_versions, typed and renamed. A month with more than one
-- version was revised after it was first loaded (late vouchers).
{{ config(alias=symetrisk_credit_trends.own_alias()) }}
select
    cast(organization_number as {{ dbt.type_string() }}) as organization_number,
    cast(snapshot_date as date) as month_end,
    cast(updated_at as {{ timestamp_tz_type() }}) as updated_at,
    cast(id as {{ dbt.type_bigint() }}) as snapshot_id,
    cast(first_seen_at as {{ timestamp_tz_type() }}) as first_seen_at,
    cast(operating_revenue as {{ double_type() }}) as operating_revenue,
    cast(operating_result as {{ double_type() }}) as operating_result,
    cast(net_result as {{ double_type() }}) as net_result,
    cast(total_equity as {{ double_type() }}) as total_equity,
    cast(total_assets as {{ double_type() }}) as total_assets,
    cast(cash_and_bank as {{ double_type() }}) as cash_and_bank
from {{ source('symetrisk', 'accounting_snapshot_versions') }}
