-- fct_backtest_breakdown: the backtest of every flag, the watchlist and any warning against the
-- bank's default history, over all borrowers (dimension 'all') and broken down by industry
-- ('nace_section'), length of history ('history': the borrower's months of history before the
-- default, the company-year or the entry, in bands) and kind of default ('kind'; recall and lead
-- only). A figure that cannot be measured is null, and its status column says why; never 0.
--   defaults: the group's defaults (fct_backtest_cases, any case_status; the industry and
--     history groups leave out those not in the warehouse or after its newest month);
--     defaults_scored: those scored; defaults_short_history: those with too short a history;
--   recall_<L>m (L = 1, 3, 6, 12): warned_<L>m / defaults_<L>m, where defaults_<L>m are the
--     scored defaults with at least L + 12 months of history before the default and
--     warned_<L>m those of them under the warning at least L months before it (lead_months
--     >= L); null when defaults_<L>m is 0;
--   recall_status: 'measured'; 'partly_too_short' (some recall_<L>m null: histories too short
--     for that lead); 'window_too_short' (defaults, none scored, some with too short a
--     history); 'outside_the_warehouse' (none of its defaults falls in the warehouse's
--     borrowers and months); 'no_defaults';
--   lead_months_median: the median lead_months of the scored defaults that were warned;
--     lead_status: 'measured', 'none_warned', or recall_status when nothing is scored;
--   company_years, false_alarms, false_alarm_rate: the measurable company-years of borrowers
--     not in the default history (fct_backtest_company_years), those with an alarm, and their
--     ratio; false_alarm_status: 'measured', 'window_too_short' (borrowers, but no window with
--     12 months of history before and 12 of follow-up after), 'no_company_years', 'no_defaults'
--     (the default history is empty: nobody is known not to have defaulted),
--     'not_applicable' (the kind breakdown: kinds are of defaults);
--   spells: the group's spells under the flag (any history, any follow-up);
--   entries_<N>m, hits_<N>m, precision_<N>m (N = 12, 24): the measurable spells under the flag
--     (fct_backtest_entries) with N months of follow-up, those followed by a default within N
--     months, and their ratio (the watchlist's precision); precision_status: 'measured',
--     'partly_too_short' (precision_24m null), 'window_too_short', 'no_entries',
--     'no_defaults' (the default history is empty), 'not_applicable' (kind).
{{ config(alias=symetrisk_credit_trends.own_alias()) }}
{%- set leads = [1, 3, 6, 12] %}
{%- set horizons = [12, 24] %}
{%- set dims = [
    ('all', "'all'"),
    ('nace_section', "coalesce(nace_section, 'unknown')"),
    ('history', 'history_band'),
] %}
with flags as (
    {{ backtest_flags() }}
),

-- a default the warehouse has no months for has no industry or history: it counts in the
-- 'all' and 'kind' groups only
case_rows as (
    {%- for name, value in dims + [('kind', "coalesce(kind, 'unspecified')")] %}
    select flag, '{{ name }}' as dimension, {{ value }} as dimension_value, case_status,
        history_months, lead_months
    from {{ ref('symetrisk__fct_backtest_cases') }}
    {%- if name in ('nace_section', 'history') %}
    where case_status not in ('not_in_warehouse', 'after_newest_month')
    {%- endif %}
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

year_rows as (
    {%- for name, value in dims %}
    select flag, '{{ name }}' as dimension, {{ value }} as dimension_value, measurable, alarm
    from {{ ref('symetrisk__fct_backtest_company_years') }}
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

entry_rows as (
    {%- for name, value in dims %}
    select flag, '{{ name }}' as dimension, {{ value }} as dimension_value, measurable,
        defaulted_within_12m, defaulted_within_24m
    from {{ ref('symetrisk__fct_backtest_entries') }}
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

-- the borrowers not in the default history, per group: they tell a window too short from
-- a group without borrowers
healthy as (
    select 'all' as dimension, 'all' as dimension_value, count(*) as borrowers
    from ({{ backtest_borrowers() }}) as b
    where b.organization_number not in (
        select organization_number from {{ ref('symetrisk__stg_defaults') }}
        where organization_number is not null
    )
    union all
    select 'nace_section' as dimension, coalesce(b.nace_section, 'unknown') as dimension_value,
        count(*) as borrowers
    from ({{ backtest_borrowers() }}) as b
    where b.organization_number not in (
        select organization_number from {{ ref('symetrisk__stg_defaults') }}
        where organization_number is not null
    )
    group by coalesce(b.nace_section, 'unknown')
),

case_figures as (
    select
        flag,
        dimension,
        dimension_value,
        count(*) as defaults,
        sum(case when case_status = 'scored' then 1 else 0 end) as defaults_scored,
        sum(case when case_status = 'history_too_short' then 1 else 0 end)
            as defaults_short_history,
        {%- for lead in leads %}
        sum(case when case_status = 'scored' and history_months >= {{ lead + 12 }}
            then 1 else 0 end) as defaults_{{ lead }}m,
        sum(case when case_status = 'scored' and history_months >= {{ lead + 12 }}
            and lead_months >= {{ lead }} then 1 else 0 end) as warned_{{ lead }}m,
        {%- endfor %}
        sum(case when case_status = 'scored' and lead_months is not null then 1 else 0 end)
            as defaults_warned,
        {{ median_of("case when case_status = 'scored' then lead_months end") }}
            as lead_months_median
    from case_rows
    group by flag, dimension, dimension_value
),

year_figures as (
    select
        flag,
        dimension,
        dimension_value,
        count(*) as windows,
        sum(case when measurable then 1 else 0 end) as company_years,
        sum(case when measurable then alarm else 0 end) as false_alarms
    from year_rows
    group by flag, dimension, dimension_value
),

entry_figures as (
    select
        flag,
        dimension,
        dimension_value,
        count(*) as spells,
        {%- for months in horizons %}
        sum(case when measurable and defaulted_within_{{ months }}m is not null
            then 1 else 0 end) as entries_{{ months }}m,
        sum(case when measurable then defaulted_within_{{ months }}m else 0 end)
            as hits_{{ months }}m{{ "," if not loop.last }}
        {%- endfor %}
    from entry_rows
    group by flag, dimension, dimension_value
),

groups as (
    select distinct flag, dimension, dimension_value from (
        select flag, 'all' as dimension, 'all' as dimension_value from flags
        union all
        select flag, dimension, dimension_value from case_figures
        union all
        select flag, dimension, dimension_value from year_figures
        union all
        select flag, dimension, dimension_value from entry_figures
    ) as found
),

history as (
    select count(*) as defaults_total from {{ ref('symetrisk__stg_defaults') }}
),

joined as (
    select
        hi.defaults_total,
        g.flag,
        g.dimension,
        g.dimension_value,
        coalesce(c.defaults, 0) as defaults,
        coalesce(c.defaults_scored, 0) as defaults_scored,
        coalesce(c.defaults_short_history, 0) as defaults_short_history,
        {%- for lead in leads %}
        coalesce(c.defaults_{{ lead }}m, 0) as defaults_{{ lead }}m,
        coalesce(c.warned_{{ lead }}m, 0) as warned_{{ lead }}m,
        {%- endfor %}
        coalesce(c.defaults_warned, 0) as defaults_warned,
        c.lead_months_median,
        coalesce(y.windows, 0) as windows,
        coalesce(y.company_years, 0) as company_years,
        coalesce(y.false_alarms, 0) as false_alarms,
        coalesce(h.borrowers, 0) as healthy_borrowers,
        coalesce(e.spells, 0) as spells,
        {%- for months in horizons %}
        coalesce(e.entries_{{ months }}m, 0) as entries_{{ months }}m,
        coalesce(e.hits_{{ months }}m, 0) as hits_{{ months }}m{{ "," if not loop.last }}
        {%- endfor %}
    from groups as g
    cross join history as hi
    left join case_figures as c
        on c.flag = g.flag and c.dimension = g.dimension and c.dimension_value = g.dimension_value
    left join year_figures as y
        on y.flag = g.flag and y.dimension = g.dimension and y.dimension_value = g.dimension_value
    left join entry_figures as e
        on e.flag = g.flag and e.dimension = g.dimension and e.dimension_value = g.dimension_value
    left join healthy as h
        on h.dimension = g.dimension and h.dimension_value = g.dimension_value
)

select
    flag,
    dimension,
    dimension_value,
    defaults,
    defaults_scored,
    defaults_short_history,
    {%- for lead in leads %}
    defaults_{{ lead }}m,
    warned_{{ lead }}m,
    case when defaults_{{ lead }}m > 0
        then cast(warned_{{ lead }}m as {{ double_type() }}) / defaults_{{ lead }}m
    end as recall_{{ lead }}m,
    {%- endfor %}
    case
        when defaults = 0 then 'no_defaults'
        when defaults_scored = 0 and defaults_short_history > 0 then 'window_too_short'
        when defaults_scored = 0 then 'outside_the_warehouse'
        when {% for lead in leads %}defaults_{{ lead }}m = 0{{ " or " if not loop.last }}{% endfor %}
            then 'partly_too_short'
        else 'measured'
    end as recall_status,
    defaults_warned,
    case when defaults_warned > 0 then cast(lead_months_median as {{ double_type() }}) end
        as lead_months_median,
    case
        when defaults = 0 then 'no_defaults'
        when defaults_scored = 0 and defaults_short_history > 0 then 'window_too_short'
        when defaults_scored = 0 then 'outside_the_warehouse'
        when defaults_warned = 0 then 'none_warned'
        else 'measured'
    end as lead_status,
    company_years,
    false_alarms,
    case when dimension <> 'kind' and defaults_total > 0 and company_years > 0
        then cast(false_alarms as {{ double_type() }}) / company_years
    end as false_alarm_rate,
    case
        when dimension = 'kind' then 'not_applicable'
        when defaults_total = 0 then 'no_defaults'
        when company_years > 0 then 'measured'
        when windows > 0 or healthy_borrowers > 0 then 'window_too_short'
        else 'no_company_years'
    end as false_alarm_status,
    spells,
    {%- for months in horizons %}
    entries_{{ months }}m,
    hits_{{ months }}m,
    case when dimension <> 'kind' and defaults_total > 0 and entries_{{ months }}m > 0
        then cast(hits_{{ months }}m as {{ double_type() }}) / entries_{{ months }}m
    end as precision_{{ months }}m,
    {%- endfor %}
    case
        when dimension = 'kind' then 'not_applicable'
        when defaults_total = 0 then 'no_defaults'
        when spells = 0 then 'no_entries'
        when entries_12m = 0 then 'window_too_short'
        when entries_24m = 0 then 'partly_too_short'
        else 'measured'
    end as precision_status
from joined
