{#- How this project lives beside a bank's own models when a bank's dbt project installs it as a
    package (docs/dbt-package.md). Every model is named symetrisk__<table>, so neither a ref nor
    a relation of ours meets a bank model called dim_borrower or fct_borrower_month. -#}

{#- The relation name of the model being configured: <table> (the name without its
    `symetrisk__`) when this project is the root project, as in Symetrisk's own warehouse
    (analytics.fct_borrower_month); none when a bank's project installed us, so the bank's
    generate_alias_name (by default: the model's name, symetrisk__fct_borrower_month) decides.
    Each model calls it in its first line: config(alias=symetrisk_credit_trends.own_alias()). -#}
{% macro own_alias() -%}
    {%- if project_name == 'symetrisk_credit_trends' and model.name.startswith('symetrisk__') -%}
        {{ return(model.name[('symetrisk__' | length):]) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{#- True when this project is the root project (Symetrisk's own builds), false when installed
    as a package. -#}
{% macro is_root_project() -%}
    {{ return(project_name == 'symetrisk_credit_trends') }}
{%- endmacro %}

{#- A table the bank supplies: the relation of the seed or model of the root project that the
    var symetrisk_<input> names (warning_rules, covenants, and the inputs the other models add).
    In Symetrisk's own builds, with the var unset, our own seed of that name (the demo rules
    and covenants); installed as a package, with the var unset, a one-line error saying which
    var to set. The two-argument ref names the root project, so it never reaches a package's
    node of the same name and dbt does not warn of a package node depending on the root. -#}
{% macro bank_input(input) -%}
    {%- set name = var('symetrisk_' ~ input, none) -%}
    {%- if name is none and project_name == 'symetrisk_credit_trends' -%}
        {{ return(ref('symetrisk_credit_trends', input)) }}
    {%- elif name is none -%}
        {{ exceptions.raise_compiler_error(
            "symetrisk_credit_trends needs your " ~ input ~ ": set the var symetrisk_" ~ input
            ~ " to the name of a seed or model of your project (docs/dbt-package.md)") }}
    {%- endif -%}
    {{ return(ref(project_name, name)) }}
{%- endmacro %}

{#- Every metric a warning rule or covenant may name, with the model that holds it (all three
    have one row per borrower and month of symetrisk__fct_borrower_month). The same list as
    pipelines/warehouse/rules_check.py METRICS (tests/warehouse/test_dbt_package.py holds them
    equal). -#}
{% macro symetrisk_metrics() -%}
{{ return([
    ('symetrisk__fct_borrower_month', [
        'equity_ratio', 'current_ratio', 'cash_cover_months', 'revenue_growth_yoy',
        'ebitda_margin_t12m', 'altman_z', 'total_equity',
    ]),
    ('symetrisk__fct_borrower_kpis', [
        'operating_margin_t12m', 'net_interest_bearing_debt', 'nibd_to_ebitda',
        'interest_coverage', 'ebitda_interest_coverage', 'cash_cover_months_smoothed',
        'days_sales_outstanding', 'days_payables_outstanding', 'inventory_days',
        'working_capital', 'cash_runway_months', 'days_payables_change_yoy',
        'public_duties_months', 'public_duties_change_yoy', 'cash_cover_months_t12m',
        'cash_runway_months_t12m', 'nibd_to_ebitda_t12m', 'revenue_change_month_yoy',
        'days_sales_change_yoy', 'days_sales_change_6m', 'net_liquidity_months',
        'net_liquidity_change_yoy', 'operating_margin_change_yoy', 'equity_ratio_t12m',
        'equity_ratio_season_adjusted',
    ]),
    ('symetrisk__fct_borrower_peer_position', [
        'equity_ratio_peer_percentile', 'operating_margin_peer_percentile',
        'cash_cover_peer_percentile',
    ]),
]) }}
{%- endmacro %}
