"""The read-only login `symetrisk sql` uses on Postgres, and the one-line warning when it is
connected as a role that can do more.

The reader's credentials are a dlt secret beside the loader's:
`DESTINATION__POSTGRES__READER_CREDENTIALS` (environment) or `reader_credentials` under
`[destination.postgres]` in .dlt/secrets.toml, in the same form as `credentials`. Without one,
`sql` uses the loader's login (still inside read-only transactions) and says so. The GRANTs that
make a reader are in docs/operations.md ("A read-only login for `symetrisk sql`")."""

from __future__ import annotations

from typing import Any

READER_SETTING = "DESTINATION__{name}__READER_CREDENTIALS"


class ReaderLoginError(Exception):
    """The reader credentials are set but cannot be read; the message names no secret."""


def reader_setting(destination: str) -> str:
    return READER_SETTING.format(name=destination.upper())


def reader_credentials(destination: str) -> Any:
    """dlt's credentials object of the reader login, or None when none is configured."""
    import dlt
    from dlt.destinations.impl.postgres.configuration import PostgresCredentials

    value = dlt.secrets.get(f"destination.{destination}.reader_credentials")
    if not value:
        return None
    credentials = PostgresCredentials()
    try:
        if isinstance(value, str):
            credentials.parse_native_representation(value)
        else:
            for key, item in dict(value).items():
                setattr(credentials, "username" if key == "user" else key, item)
    except Exception:  # noqa: BLE001 - never echo the value: it holds a password
        raise ReaderLoginError(
            f"{reader_setting(destination)} is not a connection string like "
            "postgresql://reader:PASSWORD@host:5432/dbname"
        ) from None
    return credentials


def reader_target(destination: str, loader_target: Any) -> Any:
    """The dbt-style target of the reader login; the loader's when none is configured."""
    from pipelines.warehouse.dbt_build import postgres_target

    credentials = reader_credentials(destination)
    if credentials is None:
        return loader_target
    return postgres_target(credentials, loader_target.output.get("schema", "analytics"))


def role_warning(cursor: Any, loader_user: str | None, destination: str) -> str | None:
    """One line when the connected role is a superuser or the loader's own role."""
    cursor.execute(
        "select current_user, coalesce((select rolsuper from pg_roles "
        "where rolname = current_user), false)"
    )
    user, superuser = cursor.fetchone()
    setting = reader_setting(destination)
    if superuser:
        return (
            f"warning: connected as {user}, a superuser: set {setting} to a read-only login "
            "(docs/operations.md)"
        )
    if loader_user and user == loader_user:
        return (
            f"warning: connected as {user}, the loader's role, which can write: set {setting} "
            "to a read-only login (docs/operations.md)"
        )
    return None
