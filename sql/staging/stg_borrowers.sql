-- stg_borrowers: the bank's view of each borrower company (GET /borrower/{org}), from
-- symetrisk_raw.borrowers, typed and renamed.
select
    cast(organization_number as varchar) as organization_number,
    cast(name as varchar) as borrower_name,
    cast(nace_code as varchar) as nace_code,
    cast(nace_section as varchar) as nace_section,
    cast(founded_date as date) as founded_date,
    cast(municipality as varchar) as municipality,
    cast(accounting_system as varchar) as accounting_system,
    cast(connection_status as varchar) as connection_status,
    cast(consented_to_share_data as boolean) as consented_to_share_data,
    cast(relationship_state as varchar) as relationship_state,
    cast(first_snapshot_date as date) as first_snapshot_date,
    cast(last_snapshot_date as date) as last_snapshot_date
from symetrisk_raw.borrowers
