"""Build the SQL models in sql/ into the warehouse, in dependency order, and run their assertions.

Credit analysts read the marts, not the raw tables; this module (the `symetrisk models`
subcommand, and `build_models()`, which the loader calls after every load) rebuilds them.

How the SQL is written (the rules this runner relies on):

- One SELECT per file. `sql/staging/stg_*.sql` become views, `sql/marts/*.sql` tables, each
  named after its file, in the target schema (default `analytics`).
- Every table name is schema-qualified: a model refers to another model as `analytics.<name>`
  and to a raw table as `symetrisk_raw.<table>`. Bare names are CTEs. The runner finds the
  dependency order from these references (DuckDB's own tokenizer, so comments and strings are
  ignored) and rewrites the two schema names to the ones asked for, so the loader may use another
  dataset name and the marts another schema. The SQL itself is plain DuckDB SQL, unchanged
  otherwise, so it runs on MotherDuck as it is.
- `sql/tests/*.sql` each return the rows that break a rule (the file name is the rule's name);
  they run after every build and any row fails it.

Missing raw tables and columns. A bank client has no `credit_scores` or `debtors`, a fresh
warehouse may lack `accounting_snapshot_versions`, and dlt creates no column for a field that has
only ever been null (e.g. `revoked_at` before any consent is revoked). For each raw table a
staging model reads, the runner compares the columns the model refers to with the table's real
columns; when the table or some columns are missing it creates a stand-in view of the same name
in the schema `<schema>_stand_ins` (the raw table plus null columns, or an empty table) and
points the model there. Staging models cast every column, so a stand-in gives the same types as
a real load. The stand-in schema is dropped and remade on every build; the raw schema is never
written to.

The whole build runs in one transaction (unless the caller holds one and says so), so readers
never see half of it: a broken model leaves the previous build in place.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.symetrisk import settings
from pipelines.warehouse.destination import default_database
from pipelines.warehouse.runlock import busy_message

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
RAW_SCHEMA = "symetrisk_raw"  # the raw schema's name as written in the SQL files
SCHEMA = "analytics"  # the target schema's name as written in the SQL files
SAMPLE_ROWS = 5

EXAMPLES = """\
examples:
  symetrisk models                                  # rebuild data/symetrisk.duckdb's models
  symetrisk models --database /tmp/bank.duckdb --raw-schema bank_raw
  DESTINATION__DUCKDB__CREDENTIALS=md:credit symetrisk models   # on MotherDuck
"""


class ModelError(Exception):
    """A model (or assertion) file could not be built: names the file and DuckDB's error."""

    def __init__(self, path: Path | str, message: str):
        self.path = Path(path)
        self.error = message
        super().__init__(f"{_display(self.path)}: {message}")


@dataclass
class ModelResult:
    name: str
    kind: str  # "view" or "table"
    path: Path
    rows: int
    seconds: float


def _show(value: object) -> str:
    if value is None:
        return "null"
    return repr(value) if isinstance(value, str) else str(value)


@dataclass
class AssertionResult:
    name: str
    path: Path
    failing_rows: int
    columns: list[str]
    sample: list[tuple]
    seconds: float

    @property
    def passed(self) -> bool:
        return self.failing_rows == 0

    def describe(self) -> str:
        lines = [f"{self.name} ({_display(self.path)}): {self.failing_rows} row(s) break the rule"]
        for row in self.sample:
            pairs = zip(self.columns, row, strict=False)
            lines.append("    " + ", ".join(f"{c}={_show(v)}" for c, v in pairs))
        if self.failing_rows > len(self.sample):
            lines.append(f"    ... and {self.failing_rows - len(self.sample)} more")
        return "\n".join(lines)


@dataclass
class BuildReport:
    schema: str
    raw_schema: str
    models: list[ModelResult] = field(default_factory=list)
    assertions: list[AssertionResult] = field(default_factory=list)
    stand_ins: list[str] = field(default_factory=list)  # one line per raw table stood in for
    seconds: float = 0.0

    @property
    def failed_assertions(self) -> list[AssertionResult]:
        return [a for a in self.assertions if not a.passed]

    def summary(self, models: bool = True) -> str:
        lines = []
        if models:
            lines.append(f"models built into {self.schema} (raw tables from {self.raw_schema}):")
            lines += [_model_line(m) for m in self.models]
        for note in self.stand_ins:
            lines.append(f"  note: {note}")
        if self.assertions:
            lines.append("assertions:")
        for a in self.assertions:
            status = "pass" if a.passed else f"FAIL ({a.failing_rows} rows)"
            lines.append(f"  {status:<16} {a.name:<36} {a.seconds:7.2f} s")
        failed = len(self.failed_assertions)
        lines.append(
            f"{len(self.models)} models, {len(self.assertions) - failed} of "
            f"{len(self.assertions)} assertions passed, in {self.seconds:.2f} s"
        )
        return "\n".join(lines)


def _model_line(m: ModelResult) -> str:
    return f"  {m.kind:<5}  {m.name:<36} {m.rows:>12,} rows  {m.seconds:7.2f} s"


class AssertionFailed(Exception):
    """Raised after a build when assertions return rows; names each broken rule with a sample."""

    def __init__(self, report: BuildReport):
        self.report = report
        self.failures = report.failed_assertions
        names = ", ".join(a.name for a in self.failures)
        details = "\n".join(a.describe() for a in self.failures)
        super().__init__(f"assertion(s) failed: {names}\n{details}")


@dataclass
class _Model:
    name: str
    kind: str
    path: Path
    sql: str
    model_refs: set[str]
    raw_refs: set[str]
    raw_columns: set[str]  # columns a single-raw-table model refers to


# --- reading the SQL -------------------------------------------------------------------------


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _unquote(identifier: str) -> str:
    if len(identifier) >= 2 and identifier[0] == identifier[-1] == '"':
        return identifier[1:-1].replace('""', '"').lower()
    return identifier.lower()


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _schema_references(sql: str) -> list[tuple[int, int, str, str]]:
    """(start, end, schema, table) for every `schema.table` naming one of our two schemas.
    Offsets are into the UTF-8 bytes of sql: DuckDB's tokenizer counts bytes, not characters."""
    data = sql.encode("utf-8")
    tokens = duckdb.tokenize(sql)
    texts = []
    for i, (start, kind) in enumerate(tokens):
        end = tokens[i + 1][0] if i + 1 < len(tokens) else len(data)
        text = data[start:end].decode("utf-8", errors="replace").rstrip()
        texts.append((start, start + len(text.encode("utf-8")), kind, text))
    refs = []
    identifier = duckdb.token_type.identifier
    for i in range(len(texts) - 2):
        (s0, e0, k0, t0), (_, _, k1, t1), (_, _, k2, t2) = texts[i : i + 3]
        if k0 == identifier and k1 == duckdb.token_type.operator and t1 == "." and k2 == identifier:
            schema = _unquote(t0)
            if schema in (RAW_SCHEMA, SCHEMA):
                refs.append((s0, e0, schema, _unquote(t2)))
    return refs


def _walk(node, visit) -> None:
    if isinstance(node, dict):
        visit(node)
        for value in node.values():
            _walk(value, visit)
    elif isinstance(node, list):
        for value in node:
            _walk(value, visit)


def _column_names(node) -> set[str]:
    names: set[str] = set()

    def visit(n: dict) -> None:
        if n.get("class") == "COLUMN_REF" and n.get("column_names"):
            names.add(str(n["column_names"][-1]).lower())

    _walk(node, visit)
    return names


def _parse(sql: str, path: Path, parser: duckdb.DuckDBPyConnection) -> dict:
    """DuckDB's own parse tree of the file; raises ModelError unless it is one SELECT."""
    try:
        tree = json.loads(parser.execute("select json_serialize_sql(?)", [sql]).fetchone()[0])
    except duckdb.Error as exc:
        raise ModelError(path, f"cannot be parsed: {exc}") from None
    if tree.get("error"):
        message = tree.get("error_message", "not a SELECT statement")
        raise ModelError(path, f"must hold one SELECT statement: {message}")
    if len(tree["statements"]) != 1:
        raise ModelError(path, f"must hold one SELECT, holds {len(tree['statements'])} statements")
    return tree["statements"][0]["node"]


def _read_model(path: Path, kind: str, parser: duckdb.DuckDBPyConnection) -> _Model:
    sql = path.read_text(encoding="utf-8").strip().rstrip(";").rstrip()
    if not sql:
        raise ModelError(path, "is empty")
    node = _parse(sql, path, parser)
    refs = _schema_references(sql)
    raw_refs = {table for _, _, schema, table in refs if schema == RAW_SCHEMA}
    model_refs = {table for _, _, schema, table in refs if schema == SCHEMA}
    raw_columns: set[str] = set()
    if len(raw_refs) == 1:
        # Columns the model reads from its one raw table: every column named in the select
        # list, plus those named elsewhere (WHERE, QUALIFY ...) that are not output aliases.
        select_list = node.get("select_list", [])
        aliases = {str(item.get("alias", "")).lower() for item in select_list} - {""}
        rest = {k: v for k, v in node.items() if k != "select_list"}
        raw_columns = _column_names(select_list) | (_column_names(rest) - aliases)
    return _Model(path.stem, kind, path, sql, model_refs, raw_refs, raw_columns)


def discover(sql_dir: Path | str = SQL_DIR) -> list[_Model]:
    """Every model under sql_dir (staging/stg_*.sql as views, marts/*.sql as tables), in an
    order where each model comes after the models it refers to."""
    sql_dir = Path(sql_dir)
    parser = duckdb.connect()
    try:
        found = [_read_model(p, "view", parser) for p in sorted(sql_dir.glob("staging/stg_*.sql"))]
        found += [_read_model(p, "table", parser) for p in sorted(sql_dir.glob("marts/*.sql"))]
    finally:
        parser.close()
    if not found:
        raise ModelError(sql_dir, "holds no models (staging/stg_*.sql, marts/*.sql)")
    by_name: dict[str, _Model] = {}
    for model in found:
        if model.name in by_name:
            raise ModelError(
                model.path, f"has the same name as {_display(by_name[model.name].path)}"
            )
        by_name[model.name] = model
    for model in found:
        for ref in sorted(model.model_refs - by_name.keys()):
            raise ModelError(model.path, f"refers to {SCHEMA}.{ref}, which no model file defines")
    ordered: list[_Model] = []
    state: dict[str, str] = {}

    def visit(model: _Model, chain: list[str]) -> None:
        if state.get(model.name) == "done":
            return
        if state.get(model.name) == "visiting":
            cycle = " -> ".join([*chain[chain.index(model.name) :], model.name])
            raise ModelError(model.path, f"is part of a dependency cycle: {cycle}")
        state[model.name] = "visiting"
        for ref in sorted(model.model_refs):
            visit(by_name[ref], [*chain, model.name])
        state[model.name] = "done"
        ordered.append(model)

    for model in found:
        visit(model, [])
    return ordered


def _rewrite(sql: str, schema: str, raw_targets: dict[str, str]) -> str:
    """The SQL with `analytics.` and `symetrisk_raw.<table>` pointed at the schemas asked for;
    raw_targets maps each raw table to the schema that holds it (raw or stand-in)."""
    data = sql.encode("utf-8")
    parts, last = [], 0
    for start, end, which, table in _schema_references(sql):
        target = schema if which == SCHEMA else raw_targets[table]
        parts += [data[last:start], _quote(target).encode("utf-8")]
        last = end
    parts.append(data[last:])
    return b"".join(parts).decode("utf-8")


# --- building ----------------------------------------------------------------------------------


def _raw_columns(con: duckdb.DuckDBPyConnection, raw_schema: str) -> dict[str, set[str]]:
    rows = con.execute(
        "select table_name, column_name from information_schema.columns "
        "where table_schema = ? and table_catalog = current_database()",
        [raw_schema],
    ).fetchall()
    tables: dict[str, set[str]] = {}
    for table, column in rows:
        tables.setdefault(table.lower(), set()).add(column.lower())
    return tables


def _make_stand_ins(
    con: duckdb.DuckDBPyConnection,
    models: list[_Model],
    raw_schema: str,
    stand_in_schema: str,
) -> tuple[dict[str, str], list[str]]:
    """Create stand-ins for missing raw tables/columns; return raw table -> schema, and notes."""
    existing = _raw_columns(con, raw_schema)
    needed: dict[str, set[str]] = {}
    for model in models:
        for table in model.raw_refs:
            needed.setdefault(table, set()).update(model.raw_columns)
    con.execute(f"drop schema if exists {_quote(stand_in_schema)} cascade")
    targets: dict[str, str] = {}
    notes = (
        [] if existing else [f"raw schema {raw_schema} has no tables: has `make run` loaded it?"]
    )
    for table in sorted(needed):
        have = existing.get(table)
        missing = sorted(needed[table] - (have or set()))
        if have is not None and not missing:
            targets[table] = raw_schema
            continue
        con.execute(f"create schema if not exists {_quote(stand_in_schema)}")
        nulls = ", ".join(f"cast(null as varchar) as {_quote(c)}" for c in missing)
        if have is None:
            body = f"select {nulls or 'null as no_columns'} where false"
            notes.append(f"raw table {raw_schema}.{table} is missing: built from an empty stand-in")
        else:
            body = f"select *, {nulls} from {_quote(raw_schema)}.{_quote(table)}"
            notes.append(
                f"raw table {raw_schema}.{table} has no column {', '.join(missing)}: read as null"
            )
        con.execute(f"create view {_quote(stand_in_schema)}.{_quote(table)} as {body}")
        targets[table] = stand_in_schema
    return targets, notes


def _existing_kinds(con: duckdb.DuckDBPyConnection, schema: str) -> dict[str, str]:
    rows = con.execute(
        "select table_name, table_type from information_schema.tables "
        "where table_schema = ? and table_catalog = current_database()",
        [schema],
    ).fetchall()
    return {name.lower(): ("view" if kind == "VIEW" else "table") for name, kind in rows}


def _build(
    con: duckdb.DuckDBPyConnection,
    models: list[_Model],
    raw_schema: str,
    schema: str,
    report: BuildReport,
    progress: Callable[[str], None] | None,
) -> None:
    targets, report.stand_ins = _make_stand_ins(con, models, raw_schema, f"{schema}_stand_ins")
    con.execute(f"create schema if not exists {_quote(schema)}")
    kinds = _existing_kinds(con, schema)
    for model in models:
        started = time.perf_counter()
        name = f"{_quote(schema)}.{_quote(model.name)}"
        sql = _rewrite(model.sql, schema, targets)
        try:
            old = kinds.get(model.name.lower())
            if old and old != model.kind:
                con.execute(f"drop {old} {name}")
            con.execute(f"create or replace {model.kind} {name} as\n{sql}\n")
            rows = con.execute(f"select count(*) from {name}").fetchone()[0]
        except duckdb.Error as exc:
            raise ModelError(model.path, str(exc)) from None
        result = ModelResult(
            model.name, model.kind, model.path, rows, time.perf_counter() - started
        )
        report.models.append(result)
        if progress:
            progress(_model_line(result))


def run_assertions(
    con: duckdb.DuckDBPyConnection,
    raw_schema: str = RAW_SCHEMA,
    schema: str = SCHEMA,
    sql_dir: Path | str = SQL_DIR,
) -> list[AssertionResult]:
    """Run every sql/tests/*.sql; each result holds the count and a sample of failing rows."""
    results = []
    parser = duckdb.connect()
    try:
        for path in sorted(Path(sql_dir).glob("tests/*.sql")):
            test = _read_model(path, "test", parser)
            stand_ins = f"{schema}_stand_ins"
            present = _raw_columns(con, raw_schema)
            targets = {t: raw_schema if t in present else stand_ins for t in test.raw_refs}
            sql = _rewrite(test.sql, schema, targets)
            started = time.perf_counter()
            try:
                cur = con.execute(
                    f"select *, count(*) over () as __failing_rows from (\n{sql}\n) as broken "
                    f"limit {SAMPLE_ROWS}"
                )
                rows = cur.fetchall()
                columns = [d[0] for d in cur.description][:-1]
            except duckdb.Error as exc:
                raise ModelError(path, str(exc)) from None
            failing = rows[0][-1] if rows else 0
            sample = [tuple(r[:-1]) for r in rows]
            seconds = time.perf_counter() - started
            results.append(AssertionResult(path.stem, path, failing, columns, sample, seconds))
    finally:
        parser.close()
    return results


def build_models(
    con: duckdb.DuckDBPyConnection,
    raw_schema: str = RAW_SCHEMA,
    schema: str = SCHEMA,
    sql_dir: Path | str = SQL_DIR,
    *,
    assertions: bool = True,
    transaction: bool = True,
    progress: Callable[[str], None] | None = None,
) -> BuildReport:
    """Build every model of sql_dir from raw_schema into schema, then run the assertions.

    Returns a BuildReport. Raises ModelError (naming the file and DuckDB's error) when a model
    cannot be read or built, leaving the previous build in place; raises AssertionFailed (with
    the report, naming each broken rule and a sample of its rows) when an assertion returns rows,
    after the models were built, so the failing rows can be queried.

    The build runs in its own transaction; a caller that already holds one on `con` passes
    transaction=False and commits or rolls back itself.
    """
    started = time.perf_counter()
    report = BuildReport(schema=schema, raw_schema=raw_schema)
    models = discover(sql_dir)
    if transaction:
        con.execute("begin transaction")
    try:
        _build(con, models, raw_schema, schema, report, progress)
    except BaseException:
        if transaction:
            con.execute("rollback")
        raise
    if transaction:
        con.execute("commit")
    if assertions:
        report.assertions = run_assertions(con, raw_schema, schema, sql_dir)
    report.seconds = time.perf_counter() - started
    if report.failed_assertions:
        raise AssertionFailed(report)
    return report


# --- the `symetrisk models` command ------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        default=None,
        metavar="PATH",
        help="DuckDB file (or md:NAME on MotherDuck); default $DESTINATION__DUCKDB__CREDENTIALS "
        f"or {settings.DEFAULT_WAREHOUSE}",
    )
    parser.add_argument(
        "--raw-schema",
        default=RAW_SCHEMA,
        help=f"schema holding the loader's raw tables (default {RAW_SCHEMA})",
    )
    parser.add_argument(
        "--schema", default=SCHEMA, help=f"schema to build the models into (default {SCHEMA})"
    )
    parser.add_argument(
        "--sql-dir",
        default=str(SQL_DIR),
        metavar="DIR",
        help="directory holding staging/, marts/ and tests/ (default: the project's sql/)",
    )


def main(args: argparse.Namespace) -> int:
    """Build in the warehouse's working file under the run lock, then publish it
    (pipelines/warehouse/publish.py); a remote warehouse is built in place."""
    from pipelines.warehouse.publish import prepare_working, publish, working_path
    from pipelines.warehouse.runlock import BUSY_EXIT, RunLockedError, run_lock

    database = args.database or default_database()
    remote = database.startswith(("md:", "motherduck:")) or database == ":memory:"
    if not remote and not Path(database).exists() and not working_path(database).exists():
        print(
            f"error: no warehouse at {database}. Run `make run` first: it loads the sandbox "
            "(or the configured API) and builds the models.",
            file=sys.stderr,
        )
        return 2
    try:
        with run_lock(None if remote else database, None):
            target = database if remote else str(prepare_working(database))
            code = build_in(target, args)
            if code == 0 and not remote:
                done = publish(target, database)
                print(f"published: {database} ({done.bytes / 1e6:,.1f} MB in {done.seconds:.1f} s)")
            return code
    except (RunLockedError, OSError, duckdb.Error) as exc:
        message = busy_message(exc)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return BUSY_EXIT


def build_in(database: str, args: argparse.Namespace) -> int:
    try:
        con = duckdb.connect(database)
    except duckdb.Error as exc:
        if busy_message(exc):
            raise
        print(f"error: cannot open {database}: {exc}", file=sys.stderr)
        return 1
    print(f"building {args.sql_dir} into {database}: schema {args.schema}, raw {args.raw_schema}")
    try:
        report = build_models(
            con, args.raw_schema, args.schema, args.sql_dir, progress=lambda line: print(line)
        )
    except ModelError as exc:
        print(f"error: model {_display(exc.path)} failed: {exc.error}", file=sys.stderr)
        return 1
    except AssertionFailed as exc:
        print(exc.report.summary(models=False))
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except duckdb.Error as exc:  # the warehouse itself, not a model (e.g. out of disk space)
        print(f"error: building the models in {database} failed: {exc}", file=sys.stderr)
        return 1
    finally:
        con.close()
    print(report.summary(models=False))
    return 0
