-- Rule: a borrower's episodes of one flag follow each other: each closes before (or in the
-- month) the next opens, and an act month lies inside its episode.
select a.organization_number, a.flag, a.opened_month, b.opened_month as next_opened_month
from {{ ref('symetrisk__fct_warning_episodes') }} as a
inner join {{ ref('symetrisk__fct_warning_episodes') }} as b
    on b.organization_number = a.organization_number
    and b.flag = a.flag
    and b.opened_month > a.opened_month
where a.closed_month is null
    or a.closed_month > b.opened_month
    or a.act_month < a.opened_month
    or a.act_month >= a.closed_month
