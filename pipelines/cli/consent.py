"""Ask borrowers for consent: `symetrisk request-access` (bank), `request-debtor-access` (credit
scorer) and `create-credit-scorer` (partner).

They use the same settings as `symetrisk run` (SOURCES__SYMETRISK__BASE_URL, __TOKEN_URL,
__CLIENT_ID, __CLIENT_SECRET) and never start the built-in sandbox: point them at the real API or
at `symetrisk sandbox`. Numbers are validated before any request. The token is asked for with
the client's own scopes; a client without the write scope is told so in one line.

Each request is recorded in the warehouse table `<dataset>.consent_requests` (when the warehouse
is a DuckDB file and not busy): when, which client, which borrower, the state the API answered
and the signup link to forward. The relationship itself is loaded by the next `symetrisk run`
into `relationships`, which stays the source of truth for consent states."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable
from typing import Any

from pipelines.orgnr import InvalidOrgNumber, validate_all
from pipelines.symetrisk import settings
from pipelines.symetrisk.configured import ApiConfig, api_config, connect

CONSENT_TABLE = "consent_requests"
CONSENT_COLUMNS = {
    "requested_at": "timestamp with time zone",
    "command": "varchar",
    "client_id": "varchar",
    "creditor": "varchar",
    "organization_number": "varchar",
    "relationship_state": "varchar",
    "signup_link": "varchar",
    "name": "varchar",
}
SETTINGS = (
    settings.SETTING_BASE_URL,
    settings.SETTING_TOKEN_URL,
    settings.SETTING_CLIENT_ID,
    settings.SETTING_CLIENT_SECRET,
)
CONFIG_HINT = (
    "set "
    + ", ".join(SETTINGS)
    + " (environment or .dlt/); for the local sandbox start `symetrisk sandbox` and use "
    "http://127.0.0.1:8765/api/v1, http://127.0.0.1:8765/oauth2/token, demo-bank, "
    "demo-bank-secret"
)


class CommandError(Exception):
    """One line for the person at the terminal, and the exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def no_write_scope(client_id: str | None, command: str) -> str:
    return (
        f"client {client_id} lacks the write scope {settings.WRITE_SCOPE}: `symetrisk {command}` "
        f"needs a client with write access. Set {settings.SETTING_CLIENT_ID} and "
        f"{settings.SETTING_CLIENT_SECRET} to such a client, or ask Symetrisk to give this one "
        "the scope."
    )


def prepare(command: str, role: str, orgs: list[str]) -> tuple[Any, ApiConfig, dict[str, Any]]:
    """Validate, read the settings, authenticate, check role and scope: before any write."""
    try:
        validate_all(orgs)
    except InvalidOrgNumber as exc:
        raise CommandError(str(exc), 2) from None
    config = api_config()
    if not config.client_id:
        raise CommandError(
            f"no {settings.SETTING_CLIENT_ID} configured: `symetrisk {command}` talks to the "
            f"API and never starts the built-in sandbox; {CONFIG_HINT}",
            2,
        )
    from pipelines.symetrisk import call_self
    from pipelines.symetrisk.errors import SymetriskError

    try:
        api = connect(config)
        me = call_self(api, config.base_url or "")
    except SymetriskError as exc:
        raise CommandError(str(exc)) from None
    company = me.get("company") if isinstance(me.get("company"), dict) else {}
    client = me.get("client") if isinstance(me.get("client"), dict) else {}
    actual = company.get("role")
    if actual and actual != role:
        raise CommandError(
            f"`symetrisk {command}` is for {role} clients; {config.client_id} belongs to "
            f"{company.get('name')}, a {actual}"
        )
    scopes = client.get("scopes")
    if isinstance(scopes, list) and settings.WRITE_SCOPE not in scopes:
        raise CommandError(no_write_scope(config.client_id, command))
    return api, config, me


def post(api: Any, config: ApiConfig, command: str, path: str, body: dict[str, Any]) -> list:
    from requests import HTTPError
    from requests.exceptions import RequestException

    from pipelines.symetrisk.errors import SymetriskError
    from pipelines.symetrisk.responses import error_message, error_status

    try:
        answer = api.post(path, body)
    except HTTPError as exc:
        text = error_message(exc)
        if error_status(exc) == 403 and "scope" in text:
            raise CommandError(no_write_scope(config.client_id, command)) from None
        raise CommandError(f"the API refused the request: {text}") from None
    except RequestException as exc:
        raise CommandError(
            f"cannot reach the API at {config.base_url} ({type(exc).__name__}): check "
            f"{settings.SETTING_BASE_URL}"
        ) from None
    except SymetriskError as exc:
        raise CommandError(str(exc)) from None
    items = answer.get("items") if isinstance(answer, dict) else None
    if not isinstance(items, list):
        raise CommandError(f"the API answered {path} without an item list")
    return items


# --- recording -------------------------------------------------------------------------------


def record(
    rows: list[dict[str, Any]], database: str | None, dataset: str, out: Any = sys.stderr
) -> str | None:
    """Append the requests to `<dataset>.consent_requests`; the table name, or None (with the
    reason on `out`) when the warehouse is not a DuckDB file or a run is loading it."""
    import duckdb

    from pipelines.warehouse.destination import default_database

    path = database or default_database()
    if not path.endswith(".duckdb") and not path.startswith("md:"):
        print(f"not recorded: {path} is not a DuckDB warehouse", file=out)
        return None
    if path.startswith("md:"):
        return _insert(rows, path, dataset, path, out)
    # a local file: written in the loader's working file under the run lock, then published
    # (pipelines/warehouse/publish.py), so readers never hold it up and the next run keeps it
    from pathlib import Path

    from pipelines.warehouse.publish import prepare_working, publish
    from pipelines.warehouse.runlock import RunLockedError, busy_message, run_lock

    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with run_lock(path, None):
            working = str(prepare_working(path))
            if _insert(rows, working, dataset, path, out) is None:
                return None
            publish(working, path)
    except (RunLockedError, OSError, duckdb.Error) as exc:
        first = busy_message(exc) or str(exc).strip().splitlines()[0]
        print(f"not recorded in {path}: {first}", file=out)
        return None
    return f"{dataset}.{CONSENT_TABLE} in {path}"


def _insert(
    rows: list[dict[str, Any]], database: str, dataset: str, shown: str, out: Any
) -> str | None:
    import duckdb

    try:
        con = duckdb.connect(database)
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        print(f"not recorded in {shown}: {first}", file=out)
        return None
    table = f'"{dataset}"."{CONSENT_TABLE}"'
    try:
        con.execute(f'create schema if not exists "{dataset}"')
        columns = ", ".join(f'"{n}" {t}' for n, t in CONSENT_COLUMNS.items())
        con.execute(f"create table if not exists {table} ({columns})")
        marks = ", ".join("?" * len(CONSENT_COLUMNS))
        con.executemany(
            f"insert into {table} values ({marks})",
            [[row.get(c) for c in CONSENT_COLUMNS] for row in rows],
        )
    finally:
        con.close()
    return table


# --- the commands ----------------------------------------------------------------------------


def add_common(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("orgs", nargs="+", metavar="ORG", help=f"{what} (9-digit numbers)")
    parser.add_argument(
        "--database",
        metavar="PATH",
        help="DuckDB warehouse to record the requests in (default: "
        "$DESTINATION__DUCKDB__CREDENTIALS or data/symetrisk.duckdb)",
    )
    parser.add_argument(
        "--dataset", default=settings.DATASET_NAME, help="schema of the raw tables (%(default)s)"
    )
    parser.add_argument("--no-record", action="store_true", help="do not write to the warehouse")


def run_command(
    args: argparse.Namespace, command: str, act: Callable[[argparse.Namespace], int]
) -> int:
    try:
        return act(args)
    except CommandError as exc:
        print(f"symetrisk {command}: {exc}", file=sys.stderr)
        return exc.code


def finish(args: argparse.Namespace, rows: list[dict[str, Any]], after: str) -> int:
    where = None if args.no_record or not rows else record(rows, args.database, args.dataset)
    if where:
        print(f"recorded in {where}")
    print(after)
    return 0


def print_links(items: list[dict[str, Any]]) -> None:
    for item in items:
        org, state = item.get("organization_number"), item.get("relationship_state")
        link = item.get("signup_link") or ""
        if state == settings.APPROVED:
            link = "(already approved: nothing to forward)"
        print(f"  {org}  {state:<17} {link}")


def rows_for(
    items: list[dict[str, Any]], command: str, config: ApiConfig, creditor: str | None = None
) -> list[dict[str, Any]]:
    now = dt.datetime.now(dt.timezone.utc)
    return [
        {
            **item,
            "requested_at": now,
            "command": command,
            "client_id": config.client_id,
            "creditor": creditor,
        }
        for item in items
        if isinstance(item, dict)
    ]


class RequestAccess:
    """Ask borrowers for consent to share their accounting data with your bank
    (POST /request-access, write scope). Prints one signup link per borrower to forward to
    it; the borrower's relationship is `access_requested` until it approves. The next
    `symetrisk run` after the approval loads its whole history.

    Exit codes: 0 requested, 1 the API refused (e.g. no write scope), 2 a bad number or a
    missing setting."""

    EXAMPLES = """examples:
  symetrisk request-access 810000007 810000015
  symetrisk request-access --no-record 810000007     # do not write consent_requests

the settings are those of `symetrisk run`; against the local sandbox (`symetrisk sandbox`):
  export SOURCES__SYMETRISK__BASE_URL=http://127.0.0.1:8765/api/v1
  export SOURCES__SYMETRISK__TOKEN_URL=http://127.0.0.1:8765/oauth2/token
  export SOURCES__SYMETRISK__CLIENT_ID=demo-bank SOURCES__SYMETRISK__CLIENT_SECRET=demo-bank-secret
"""

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        add_common(parser, "borrowers to ask")

    @staticmethod
    def main(args: argparse.Namespace) -> int:
        return run_command(args, "request-access", RequestAccess.act)

    @staticmethod
    def act(args: argparse.Namespace) -> int:
        command = "request-access"
        api, config, me = prepare(command, "bank", args.orgs)
        body = {"borrowers": [{"organization_number": o} for o in args.orgs]}
        items = post(api, config, command, settings.REQUEST_ACCESS, body)
        name = (me.get("company") or {}).get("name") or config.client_id
        print(
            f"asked {len(items)} borrower(s) for consent to share data with {name} "
            f"(client {config.client_id}); forward each link to its borrower:"
        )
        print_links(items)
        return finish(
            args,
            rows_for(items, command, config),
            "after a borrower approves, the next `symetrisk run` loads its history; "
            "`symetrisk status` shows who is still pending",
        )


class RequestDebtorAccess:
    """Ask debtors of a creditor for consent to share their data with your credit-scoring
    company (POST /request-access/{creditor}, write scope). Prints one signup link per debtor.

    Exit codes: 0 requested, 1 the API refused (e.g. no write scope), 2 a bad number or a
    missing setting."""

    EXAMPLES = """examples:
  symetrisk request-debtor-access --creditor 810000007 810000015 810000023
  symetrisk request-debtor-access 810000015   # creditor: your own company (from /self)
"""

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        add_common(parser, "debtors to ask")
        parser.add_argument(
            "--creditor",
            metavar="ORG",
            help="the creditor's organisation number (default: your company's, from /self)",
        )

    @staticmethod
    def main(args: argparse.Namespace) -> int:
        return run_command(args, "request-debtor-access", RequestDebtorAccess.act)

    @staticmethod
    def act(args: argparse.Namespace) -> int:
        command = "request-debtor-access"
        numbers = args.orgs + ([args.creditor] if args.creditor else [])
        api, config, me = prepare(command, "credit_scorer", numbers)
        creditor = args.creditor or (me.get("company") or {}).get("brreg_organization_number")
        if not creditor:
            raise CommandError("no creditor: pass --creditor ORG", 2)
        body = {"debtors": [{"organization_number": o} for o in args.orgs]}
        path = settings.REQUEST_DEBTOR_ACCESS.format(creditor=creditor)
        items = post(api, config, command, path, body)
        print(
            f"asked {len(items)} debtor(s) of {creditor} for consent (client "
            f"{config.client_id}); forward each link to its debtor:"
        )
        print_links(items)
        return finish(
            args,
            rows_for(items, command, config, creditor),
            "after a debtor approves, the next `symetrisk run` loads its credit score",
        )


class CreateCreditScorer:
    """Register credit-scoring companies under your partner account
    (POST /partner/credit-scorer, write scope). Prints each one with its name and creation
    time.

    Exit codes: 0 created (or already there), 1 the API refused (e.g. no write scope), 2 a bad
    number or a missing setting."""

    EXAMPLES = """examples:
  symetrisk create-credit-scorer 810000007
  symetrisk create-credit-scorer 810000007 810000015 --no-record
"""

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        add_common(parser, "companies to register as credit scorers")

    @staticmethod
    def main(args: argparse.Namespace) -> int:
        return run_command(args, "create-credit-scorer", CreateCreditScorer.act)

    @staticmethod
    def act(args: argparse.Namespace) -> int:
        command = "create-credit-scorer"
        api, config, _ = prepare(command, "partner", args.orgs)
        body = {"borrowers": [{"organization_number": o} for o in args.orgs]}
        items = post(api, config, command, settings.CREATE_CREDIT_SCORER, body)
        print(f"{len(items)} credit scorer(s) under client {config.client_id}:")
        for item in items:
            print(
                f"  {item.get('organization_number')}  {item.get('name')}  {item.get('created_at')}"
            )
        rows = [
            {**row, "relationship_state": "credit_scorer_created"}
            for row in rows_for(items, command, config)
        ]
        return finish(args, rows, "`symetrisk status` with this client lists them")
