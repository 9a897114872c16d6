-- stg_accounting_snapshot_versions: every distinct version of a month the loader has seen, from
-- symetrisk_raw.accounting_snapshot_versions, typed and renamed. A month with more than one
-- version was revised after it was first loaded (late vouchers).
select
    cast(organization_number as varchar) as organization_number,
    cast(snapshot_date as date) as month_end,
    cast(updated_at as timestamptz) as updated_at,
    cast(id as bigint) as snapshot_id,
    cast(first_seen_at as timestamptz) as first_seen_at,
    cast(operating_revenue as double) as operating_revenue,
    cast(operating_result as double) as operating_result,
    cast(net_result as double) as net_result,
    cast(total_equity as double) as total_equity,
    cast(total_assets as double) as total_assets,
    cast(cash_and_bank as double) as cash_and_bank
from symetrisk_raw.accounting_snapshot_versions
