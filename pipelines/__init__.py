"""Symetrisk credit-trend pipeline: dlt source, sandbox API, SQL model runner and CLI."""

from pipelines.no_phone_home import switch_off as _switch_off

_switch_off()  # before anything imports dlt or dbt
