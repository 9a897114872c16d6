-- fct_borrower_exposure: one row per borrower with a facility of the loan book (seed
-- facilities.csv, or the bank's model the var symetrisk_facilities names) running at the warehouse's newest month end (valid_from on or before it,
-- valid_to empty or on or after it).
--   as_of_month: that month end;
--   facilities: how many facilities run then;
--   limit_nok / drawn_nok: the sums of limit_amount and drawn_amount of its NOK facilities
--     (no exchange rates here: other currencies are counted in other_currency_facilities);
--   relationship_manager: the manager of its largest drawn NOK facility (then any facility),
--     ties broken by facility_id;
--   products: its facilities' products, comma separated, in facility_id order.
{{ config(alias=symetrisk_credit_trends.own_alias()) }}
with as_of as (
    select max(month_end) as as_of_month from {{ ref('symetrisk__fct_borrower_month') }}
),

running as (
    select
        cast(f.organization_number as {{ dbt.type_string() }}) as organization_number,
        cast(f.facility_id as {{ dbt.type_string() }}) as facility_id,
        f.product,
        cast(f.limit_amount as {{ double_type() }}) as limit_amount,
        cast(f.drawn_amount as {{ double_type() }}) as drawn_amount,
        upper(f.currency) as currency,
        f.relationship_manager,
        a.as_of_month
    from {{ ref('symetrisk__stg_facilities') }} as f
    cross join as_of as a
    where cast(f.valid_from as date) <= a.as_of_month
        and (f.valid_to is null or cast(f.valid_to as date) >= a.as_of_month)
),

ranked as (
    select
        *,
        row_number() over (
            partition by organization_number
            order by case when currency = 'NOK' then 0 else 1 end, drawn_amount desc, facility_id
        ) as manager_rank
    from running
)

select
    organization_number,
    min(as_of_month) as as_of_month,
    count(*) as facilities,
    sum(case when currency = 'NOK' then limit_amount else 0 end) as limit_nok,
    sum(case when currency = 'NOK' then drawn_amount else 0 end) as drawn_nok,
    sum(case when currency <> 'NOK' then 1 else 0 end) as other_currency_facilities,
    max(case when manager_rank = 1 then relationship_manager end) as relationship_manager,
    {{ dbt.listagg('product', "', '", "order by facility_id") }} as products
from ranked
group by organization_number
