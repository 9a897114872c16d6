-- Rule: every early warning names a borrower in dim_borrower, and a known flag.
select w.organization_number, w.month_end, w.flag
from {{ ref('fct_early_warnings') }} as w
left join {{ ref('dim_borrower') }} as d on d.organization_number = w.organization_number
where d.organization_number is null
    or w.flag not in (
        'negative_equity', 'low_equity_ratio', 'revenue_decline_yoy',
        'operating_loss_3_months', 'low_cash_cover', 'altman_distress_entry', 'stale_data',
        'consent_revoked'
    )
