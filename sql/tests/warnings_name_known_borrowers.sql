-- Rule: every early warning names a borrower in dim_borrower, and a known flag: a rule of
-- seeds/warning_rules.csv, a covenant (covenant_<metric>), stale_data or consent_revoked.
select w.organization_number, w.month_end, w.flag
from {{ ref('symetrisk__fct_early_warnings') }} as w
left join {{ ref('symetrisk__dim_borrower') }} as d on d.organization_number = w.organization_number
where d.organization_number is null
    or (
        w.flag not in (select flag from {{ ref('symetrisk__stg_warning_rules') }})
        and w.flag not in ('stale_data', 'consent_revoked')
        and w.flag not like 'covenant_%'
    )
