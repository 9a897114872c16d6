-- Rule: altman_zone agrees with altman_z: safe above 2.60, grey from 1.10 to 2.60, distress
-- below 1.10, null exactly when altman_z is null.
select organization_number, month_end, altman_z, altman_zone
from {{ ref('symetrisk__fct_borrower_month') }}
where altman_zone is distinct from case
    when altman_z > 2.60 then 'safe'
    when altman_z >= 1.10 then 'grey'
    when altman_z < 1.10 then 'distress'
end
