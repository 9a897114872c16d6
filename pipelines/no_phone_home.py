"""Nothing phones home: dlt's anonymous telemetry and dbt's anonymous usage statistics are off
in code, whatever the working directory (a `.dlt/config.toml` is read only in the project
directory, and cron or systemd start runs elsewhere). Set as environment defaults before dlt or
dbt is imported, so a user who opts in (RUNTIME__DLTHUB_TELEMETRY=true,
DBT_SEND_ANONYMOUS_USAGE_STATS=true in the environment) still can. dbt's version check against
PyPI runs only for `dbt --version`, which nothing here calls; DBT_VERSION_CHECK is dbt's local
require-dbt-version check and never reaches out."""

from __future__ import annotations

import os

DEFAULTS = {
    "RUNTIME__DLTHUB_TELEMETRY": "false",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
}


def switch_off() -> None:
    for name, value in DEFAULTS.items():
        if not os.environ.get(name, "").strip():
            os.environ[name] = value


def dbt_opted_in() -> bool:
    return os.environ.get("DBT_SEND_ANONYMOUS_USAGE_STATS", "").strip().lower() in (
        "1",
        "true",
        "yes",
    )
