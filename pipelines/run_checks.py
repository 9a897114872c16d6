"""`symetrisk run`'s arguments and settings checked before any request, each bad one refused
with one line naming the option or setting and a value that works; and the name of a setting
dlt reports missing, as a person sets it (the environment variable dlt looked up)."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
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
    """A destination name dlt knows, or a DuckDB file in a folder this process can write."""
    if destination and not destination.endswith(".duckdb"):
        try:
            from dlt.common.destination import Destination

            Destination.from_reference(destination)
        except Exception:  # noqa: BLE001 - dlt's own error names internals
            raise BadArgument(
                f"--destination {destination}: neither a DuckDB file (a path ending in .duckdb) "
                f"nor a dlt destination ({KNOWN_DESTINATIONS}); for example "
                f"{WORKING_DESTINATION}"
            ) from None
        return
    from pipelines.warehouse.destination import warehouse_file

    file = warehouse_file(destination)
    if file is None:
        return
    if destination:
        setting = f"--destination {destination}"
    elif os.environ.get("DESTINATION__DUCKDB__CREDENTIALS"):
        setting = f"DESTINATION__DUCKDB__CREDENTIALS={file}"
    else:
        setting = f"the default warehouse {file}"
    check_writable_file(Path(file), setting, WORKING_DESTINATION)


def check_pipelines_dir(folder: str) -> None:
    path = Path(folder)
    reason = _cannot_write_in(path)
    if reason:
        raise BadArgument(
            f"--pipelines-dir {folder}: {reason}; give a folder this user can write, for "
            f"example --pipelines-dir {settings.DEFAULT_PIPELINES_DIR}"
        )


def check_writable_file(path: Path, setting: str, example: str) -> None:
    reason = _cannot_write_in(path.parent)
    if reason is None and path.exists():
        if path.is_dir():
            reason = "that is a folder"
        elif not os.access(path, os.W_OK):
            reason = "the file is read-only"
    if reason:
        raise BadArgument(
            f"{setting}: {reason}; give a .duckdb file in a folder this user can write, "
            f"for example {example}"
        )


def _cannot_write_in(folder: Path) -> str | None:
    """Why no file can be made in `folder` (made if missing), or None when one can."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        return f"{_first_file(folder)} is a file, not a folder"
    except OSError as exc:
        return f"cannot create the folder {folder} ({exc.strerror or exc})"
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return f"cannot write in {folder} ({exc.strerror or exc})"
    return None


def _first_file(folder: Path) -> Path:
    for parent in [*reversed(folder.parents), folder]:
        if parent.exists() and not parent.is_dir():
            return parent
    return folder


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
