{#- Helpers of the backtest models (models/marts/symetrisk__fct_backtest_*.sql). -#}

{#- The borrowers the warehouse monitors: first and last reported month (month numbers), and
    the warehouse's newest month, from fct_borrower_month; NACE section from dim_borrower. -#}
{% macro backtest_borrowers() -%}
    select
        m.organization_number,
        min(m.month_number) as first_month,
        max(m.month_number) as last_month,
        max(d.nace_section) as nace_section
    from {{ ref('symetrisk__fct_borrower_month') }} as m
    left join {{ ref('symetrisk__dim_borrower') }} as d
        on d.organization_number = m.organization_number
    group by m.organization_number
{%- endmacro %}

{% macro backtest_newest() -%}
    select max(month_number) as newest_month from {{ ref('symetrisk__fct_borrower_month') }}
{%- endmacro %}

{#- Every flag the backtest scores: those with an episode, and the two over all flags. -#}
{% macro backtest_flags() -%}
    select distinct flag from (
        select flag from {{ ref('symetrisk__fct_warning_episodes') }}
        union all
        select 'watchlist' as flag
        union all
        select 'any_warning' as flag
    ) as named
{%- endmacro %}

{#- The band of a borrower's months of history before a point (history_months): the backtest's
    breakdown by length of history. -#}
{% macro history_band(months) -%}
    case
        when {{ months }} is null then 'unknown'
        when {{ months }} < 12 then 'under 12 months'
        when {{ months }} < 24 then '12-23 months'
        when {{ months }} < 36 then '24-35 months'
        when {{ months }} < 60 then '36-59 months'
        else '60 months or more'
    end
{%- endmacro %}
