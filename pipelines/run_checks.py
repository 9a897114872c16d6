"""`symetrisk run`'s arguments and settings checked before any request, each bad one refused
with one line naming the option or setting and a value that works; and the name of a setting
dlt reports missing, as a person sets it (the environment variable dlt looked up)."""

from __future__ import annotations

import argparse
from typing import Any

from pipelines.symetrisk import settings

WORKING_DESTINATION = f"--destination {settings.DEFAULT_WAREHOUSE}"
KNOWN_DESTINATIONS = "duckdb, motherduck, postgres, bigquery, snowflake, databricks, ..."


class BadArgument(ValueError):
    """One line for the person running the command (exit 2)."""


# --- argparse types: the message argparse prints is ours, never a function's name ------------


def whole_number(minimum: int, meaning: str = "") -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be a whole number of {minimum} or more{meaning}, got {text!r}"
            ) from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more{meaning}, got {text}")
        return value

    parse.__name__ = "number"
    return parse


def non_negative_number(meaning: str = "") -> Any:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be a number, 0 or more{meaning}, got {text!r}"
            ) from None
        if not value >= 0 or value == float("inf"):
            raise argparse.ArgumentTypeError(f"must be 0 or more{meaning}, got {text}")
        return value

    parse.__name__ = "number"
    return parse


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds (e.g. 30), got {text}")
    return value


# --- where the run writes ------------------------------------------------------------------------


def check_destination(destination: str | None) -> None:
    """A destination dlt knows by name, or a DuckDB file (a path ending in .duckdb). Whether
    the file's folder can be written is the run lock's to say (pipelines/warehouse/runlock.py:
    one line, exit 3, recorded in the run journal)."""
    if destination and not destination.endswith(".duckdb"):
        try:
            from dlt.common.destination import Destination

            from pipelines.warehouse.destination import masked

            Destination.from_reference(destination)
        except Exception:  # noqa: BLE001 - dlt's own error names internals
            raise BadArgument(
                f"--destination {masked(destination)}: neither a DuckDB file (a path ending "
                "in .duckdb) "
                f"nor a dlt destination ({KNOWN_DESTINATIONS}); for example "
                f"{WORKING_DESTINATION}"
            ) from None


# --- dlt's missing settings, named as a person sets them ---------------------------------


def missing_settings(cause: BaseException) -> list[str]:
    """The settings dlt looked up for each missing field of `cause` (a
    ConfigFieldMissingException), as environment variables: SOURCES__SYMETRISK__CLIENT_ID, or
    for missing credentials DESTINATION__POSTGRES__CREDENTIALS and the parts it may be given
    in; the most specific name dlt tried (sections of the source or destination)."""
    names: list[str] = []
    for field, traces in (getattr(cause, "traces", None) or {}).items():
        nested = [t for t in traces if hasattr(t, "traces")]
        if nested:
            parts = sorted({part for t in nested for part in t.traces})
            sections = [list(x.sections) for t in nested for xs in t.traces.values() for x in xs]
            base = "__".join(max(sections, key=len, default=[str(field)])).upper()
            shown = ", ".join(f"__{p.upper()}" for p in parts)
            name = f"{base} (a connection string, or {shown})" if parts else base
        else:
            sections = [list(t.sections) for t in traces if hasattr(t, "sections")]
            longest = max(sections, key=len, default=[])
            # sources.<section>.<name>: the source's section and name are both `symetrisk`
            longest = [p for i, p in enumerate(longest) if i == 0 or p != longest[i - 1]]
            name = "__".join([*longest, str(field)]).upper()
        if name not in names:
            names.append(name)
    return names
