"""What `symetrisk sql` lets through: exactly one statement, and only a query (SELECT, WITH ...
SELECT, a set operation, VALUES, EXPLAIN of a query, DESCRIBE/SHOW/SUMMARIZE where the database
has them). Everything else is refused with one line before it reaches the database.

The statement is parsed with sqlglot in the database's dialect and every node of it is checked,
so a write hidden in a CTE (`with x as (delete ... returning *) select ...`), `select ... into`,
`for update` or a function that changes the session (`set_config`) is refused too. On DuckDB its
own parser also counts the statements and names their type. On Postgres the SQL sent is the one
sqlglot rebuilt from what it checked, so a string the two parsers split differently cannot smuggle
a second statement past the check. The database's own guards stay on behind this: a read-only
transaction (Postgres), a read-only attach with no file access and a locked configuration
(DuckDB)."""

from __future__ import annotations

import logging
import re
from typing import Any

import sqlglot
from sqlglot import exp

# sqlglot warns on stderr when it falls back to a raw command (EXPLAIN, SHOW): we handle those
logging.getLogger("sqlglot").setLevel(logging.ERROR)

REFUSED = (
    "refused: `symetrisk sql` is read-only and runs one query (SELECT, WITH ... SELECT, EXPLAIN"
)
WRITES = tuple(
    getattr(exp, name)
    for name in (
        "Insert",
        "Update",
        "Delete",
        "Merge",
        "Create",
        "Drop",
        "Alter",
        "Copy",
        "Command",
        "Set",
        "Transaction",
        "Commit",
        "Rollback",
        "Into",
        "Lock",
        "Use",
        "Grant",
        "Revoke",
        "Pragma",
        "TruncateTable",
        "LoadData",
        "Analyze",
        "Attach",
        "Detach",
        "Install",
        "Export",
    )
    if hasattr(exp, name)
)
QUERIES = tuple(
    getattr(exp, name)
    for name in ("Select", "SetOperation", "Union", "Values", "Describe", "Show", "Summarize")
    if hasattr(exp, name)
)
# functions that change the session or reach the server's files, processes or other servers
# (a reader role may not call most of them anyway; refusing them here says so in one line)
SESSION_FUNCTIONS = re.compile(
    r"^(set_config|pg_read_file|pg_read_binary_file|pg_ls_\w+|pg_stat_file|lo_\w+|dblink\w*|"
    r"pg_terminate_backend|pg_cancel_backend|pg_reload_conf|pg_rotate_logfile|pg_promote|"
    r"pg_advisory\w*|pg_try_advisory\w*|query_to_xml\w*|cursor_to_xml\w*|nextval|setval|"
    r"pg_logical_emit_message|pg_switch_wal|pg_create_restore_point|txid_current|"
    r"pg_current_xact_id)$",
    re.IGNORECASE,
)
EXPLAIN = re.compile(
    r"^\s*explain\b(?P<options>(\s*\([\w\s,]*\)|\s+(analy[sz]e|verbose))*)\s+(?P<rest>.+)$",
    re.IGNORECASE | re.DOTALL,
)
POSTGRES_SHOW = re.compile(r"^\s*show\s+(all|[a-z_][\w.]*)\s*;?\s*$", re.IGNORECASE)


class RefusedStatement(ValueError):
    """One line saying why the statement may not run."""


def refuse(why: str) -> RefusedStatement:
    return RefusedStatement(f"{REFUSED}, DESCRIBE, SHOW): {why}")


def checked_query(sql: str, dialect: str, duckdb_con: Any = None) -> str:
    """The statement to send when `sql` is one query in `dialect` ("postgres" or "duckdb",
    whose connection `duckdb_con` parses it too); raise RefusedStatement otherwise."""
    text = sql.strip().rstrip(";").strip()
    if duckdb_con is not None:
        return _checked_by_duckdb(text, duckdb_con)
    if not text:
        raise refuse("no statement given")
    if dialect == "postgres" and POSTGRES_SHOW.match(text):
        return text  # SHOW name: reads one setting
    match = EXPLAIN.match(text)
    if match:
        rest = checked_query(match.group("rest"), dialect)
        if EXPLAIN.match(rest):
            raise refuse("EXPLAIN of an EXPLAIN")
        return f"EXPLAIN{match.group('options')} {rest}"
    tree = _one_tree(text, dialect)
    _check_tree(tree)
    if dialect == "postgres":
        return tree.sql(dialect="postgres")
    return text


def _checked_by_duckdb(text: str, con: Any) -> str:
    """DuckDB's own parser counts the statements and types them (SHOW, DESCRIBE, SUMMARIZE
    and FROM-first queries are SELECTs to it); sqlglot then checks every node where it can
    read the statement (DuckDB's read-only attach and locked configuration stay on behind)."""
    if not text:
        raise refuse("no statement given")
    try:
        statements = con.extract_statements(text)
    except Exception as exc:  # noqa: BLE001 - DuckDB's parser error, one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise refuse(f"it does not parse ({first[:160]})") from None
    if len(statements) != 1:
        raise refuse(f"{len(statements)} statements given; give one")
    kind = str(statements[0].type).rsplit(".", 1)[-1]
    if kind not in ("SELECT", "EXPLAIN"):
        raise refuse(f"{kind} is not a query")
    match = EXPLAIN.match(text)
    inner = match.group("rest") if match else text
    if match:
        _checked_by_duckdb(inner, con)
    try:
        tree = _one_tree(inner, "duckdb")
    except RefusedStatement:
        return text  # DuckDB says one query; sqlglot does not know this syntax
    _check_tree(tree)
    return text


def _one_tree(text: str, dialect: str) -> exp.Expression:
    try:
        trees = [t for t in sqlglot.parse(text, read=dialect) if t is not None]
    except Exception as exc:  # noqa: BLE001 - sqlglot raises more than its own errors
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise refuse(f"it does not parse as one statement ({first[:160]})") from None
    if len(trees) != 1:
        raise refuse(f"{len(trees)} statements given; give one")
    return trees[0]


def _check_tree(tree: exp.Expression) -> None:
    if not isinstance(tree, QUERIES):
        raise refuse(f"{_kind(tree)} is not a query")
    for node in tree.walk():
        if isinstance(node, WRITES):
            raise refuse(f"it holds {_kind(node)}, which is not a query")
        if isinstance(node, exp.Select) and node.args.get("locks"):
            raise refuse("SELECT ... FOR UPDATE/SHARE takes locks")
        if isinstance(node, exp.Func):
            name = node.name if isinstance(node, exp.Anonymous) else node.sql_name()
            if SESSION_FUNCTIONS.match(str(name)):
                raise refuse(
                    f"the function {str(name).lower()}() changes the session or the server"
                )


def _kind(node: exp.Expression) -> str:
    if isinstance(node, exp.Command):
        return str(node.this).upper()
    name = type(node).__name__
    return {"Into": "SELECT ... INTO", "Set": "SET", "Copy": "COPY"}.get(name, name.upper())
