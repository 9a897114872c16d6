-- Rule: a covenant is breached exactly when its headroom is below zero, or zero for a strict
-- comparison (< or >).
select organization_number, month_end, metric, comparison, value, threshold, headroom, breached
from {{ ref('symetrisk__fct_covenant_tests') }}
where value is not null
    and breached <> (headroom < 0 or (headroom = 0 and comparison in ('<', '>')))
