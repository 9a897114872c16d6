-- int_warning_signals: one row per borrower, month end and flag where the flag's metric is
-- known, with the level it reached that month: 2 (act) when past the act threshold, 1 (watch)
-- when past the watch threshold, 0 otherwise. Flags come from the seed warning_rules.csv (one
-- metric, a comparison and a watch and/or act threshold each, and maybe a severe one), and
-- from covenants.csv: every covenant is a flag 'covenant_<metric>' at act when breached.
-- is_severe: 1 when past the rule's severe threshold (level 2 too): such a month opens an
-- episode at act at once, without waiting for open_after_months (fct_warning_episodes).
-- open_after_months / close_after_months: how many reported months in a row past a threshold
-- open an episode, and back inside close it (fct_warning_episodes): the vars
-- warning_open_months and warning_close_months for the rules; 1 and 1 for covenants (a
-- breach of the loan agreement counts at once).
-- A view, not a table: fct_warning_episodes and fct_early_warnings read it, and writing its
-- 7.8 M rows at 1M snapshots cost more than computing them where they are read.
{{ config(alias=symetrisk_credit_trends.own_alias(), materialized='view') }}
with rules as (
    select
        flag,
        metric,
        comparison,
        cast(watch_threshold as {{ double_type() }}) as watch_threshold,
        cast(act_threshold as {{ double_type() }}) as act_threshold,
        cast(severe_threshold as {{ double_type() }}) as severe_threshold
    from {{ ref('symetrisk__stg_warning_rules') }}
),

rule_signals as (
    select
        v.organization_number,
        v.month_end,
        v.month_number,
        r.flag,
        r.metric,
        r.comparison,
        v.value,
        r.watch_threshold,
        r.act_threshold,
        case
            when {{ breaches('v.value', 'r.comparison', 'r.severe_threshold') }} then 2
            when {{ breaches('v.value', 'r.comparison', 'r.act_threshold') }} then 2
            when {{ breaches('v.value', 'r.comparison', 'r.watch_threshold') }} then 1
            else 0
        end as level,
        case when {{ breaches('v.value', 'r.comparison', 'r.severe_threshold') }} then 1 else 0 end
            as is_severe,
        {{ var('warning_open_months', 3) }} as open_after_months,
        {{ var('warning_close_months', 3) }} as close_after_months
    from {{ ref('symetrisk__int_borrower_metrics') }} as v
    inner join rules as r on r.metric = v.metric
),

covenant_signals as (
    select
        organization_number,
        month_end,
        month_number,
        'covenant_' || metric as flag,
        metric,
        comparison,
        value,
        cast(null as {{ double_type() }}) as watch_threshold,
        threshold as act_threshold,
        case when breached then 2 else 0 end as level,
        0 as is_severe,
        1 as open_after_months,
        1 as close_after_months
    from {{ ref('symetrisk__fct_covenant_tests') }}
    where value is not null
)

select * from rule_signals
union all
select * from covenant_signals
