"""Build the dbt project in sql/ in this process, against the warehouse the load wrote to.

`symetrisk run` (after every load) and `symetrisk models` call `build()`. The dbt profile is made
here, in a temporary directory, from the destination the pipeline itself used (for DuckDB the
very file dlt wrote, for Postgres dlt's own credentials), so there is no second settings file to
keep. A password goes to dbt through a DBT_ENV_SECRET_ variable, never into a file or a line of
output. dbt's target/ (and its parse cache, which saves seconds a build) goes to a directory per
warehouse under the user's cache (`work_dir`), out of the repository; it writes no log file, and a
build writes no manifest.json or run_results.json (`docs` writes the manifest).

The output stays ours: `BuildReport.summary()` is one line of models built and tests passed, and a
failure names the model (or test) file and the database's error in one place (`BuildFailed`).
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

from pipelines.warehouse import rules_check

PROJECT_DIR = Path(__file__).resolve().parents[2] / "sql"
PROFILE = "symetrisk"  # the profile name sql/dbt_project.yml asks for
SCHEMA = "analytics"  # the schema the models are built into
SECRET_ENV = "DBT_ENV_SECRET_SYMETRISK_PASSWORD"  # dbt scrubs DBT_ENV_SECRET_* from its logs


@dataclass
class Target:
    """Where dbt builds: the profile output (a password only as an env_var reference), the
    secret to put in the environment while dbt runs, and a description safe to print."""

    kind: str  # dbt adapter type: duckdb, postgres, ...
    output: dict[str, Any]
    where: str
    secret: str | None = None


# DuckDB's memory_limit for the model build. Without one DuckDB keeps up to 80 % of the
# machine's memory: 11 GB at 100,000 borrowers x 100 months, where 3 GB (spilling to the
# file's .tmp directory) peaked at 3.5 GB for 4 % more time (docs/benchmarks.md).
MEMORY_SETTING = "SYMETRISK_MODELS_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "3GB"


def duckdb_target(path: str | os.PathLike[str], schema: str = SCHEMA) -> Target:
    database = str(path)
    # One model at a time: DuckDB runs each statement on every core already (two dbt threads
    # were about 10 % faster at 1M snapshots, with 300 MB more peak memory and two writers in
    # one file: not worth it).
    output: dict[str, Any] = {"type": "duckdb", "path": database, "schema": schema, "threads": 1}
    if not database.startswith(("md:", "motherduck:")) and database != ":memory:":
        limit = os.environ.get(MEMORY_SETTING) or DEFAULT_MEMORY_LIMIT
        output["settings"] = {"preserve_insertion_order": False, "memory_limit": limit}
    return Target("duckdb", output, database)


def postgres_target(credentials: Any, schema: str = SCHEMA) -> Target:
    """From dlt's ConnectionStringCredentials (host may be a unix-socket directory)."""
    host = unquote(str(credentials.host or "localhost"))  # a unix-socket directory arrives quoted
    output = {
        "type": "postgres",
        "host": host,
        "port": int(credentials.port or 5432),
        "user": str(credentials.username),
        "password": "{{ env_var('" + SECRET_ENV + "', '') }}",
        "dbname": str(credentials.database),
        "schema": schema,
        "threads": 4,
    }
    where = f"postgres {credentials.username}@{host}:{output['port']}/{credentials.database}"
    return Target("postgres", output, where, str(credentials.password or "") or None)


def target_for(pipeline: Any, schema: str = SCHEMA) -> Target:
    """The target of the destination this pipeline loaded into."""
    name = pipeline.destination.destination_name
    credentials = pipeline.destination_client().config.credentials
    if name in ("duckdb", "motherduck"):
        database = getattr(credentials, "database", None)
        if name == "motherduck" and database and not str(database).startswith("md:"):
            database = f"md:{database}"
        return duckdb_target(database, schema)
    if name == "postgres":
        return postgres_target(credentials, schema)
    raise UnsupportedDestination(
        f"the models build on DuckDB, MotherDuck and Postgres; the destination is {name}"
    )


class UnsupportedDestination(Exception):
    """The destination has no profile here (yet)."""


@dataclass
class NodeResult:
    name: str
    kind: str  # view, table, test
    path: str  # the file, relative to the project's parent (sql/...)
    status: str  # success, pass, error, fail, skipped, warn
    seconds: float
    message: str = ""
    failures: int = 0


@dataclass
class BuildReport:
    schema: str
    raw_schema: str
    where: str
    nodes: list[NodeResult] = field(default_factory=list)
    seconds: float = 0.0
    dbt_seconds: float = 0.0  # dbt's invocation, start-up and parsing included

    @property
    def models(self) -> list[NodeResult]:
        return [n for n in self.nodes if n.kind != "test"]

    @property
    def tests(self) -> list[NodeResult]:
        return [n for n in self.nodes if n.kind == "test"]

    @property
    def failed(self) -> list[NodeResult]:
        return [n for n in self.nodes if n.status in ("error", "fail", "runtime error")]

    def summary(self) -> str:
        built = sum(n.status == "success" for n in self.models)
        passed = sum(n.status == "pass" for n in self.tests)
        line = (
            f"models: {built} of {len(self.models)} built into {self.schema}, "
            f"{passed} of {len(self.tests)} tests passed ({self.seconds:.1f} s)"
        )
        skipped = sum(n.status == "skipped" for n in self.nodes)
        return line + (f", {skipped} skipped" if skipped else "")


class BuildFailed(Exception):
    """A model could not be built or a test found rows that break its rule. The message names
    each failing file and the database's error (or the count of failing rows)."""

    def __init__(self, report: BuildReport | None, problems: list[str]):
        self.report = report
        self.problems = problems
        super().__init__("; ".join(problems))


def _node_line(n: NodeResult) -> str:
    return f"  {n.kind:<5}  {n.name:<40} {n.status:<8} {n.seconds:7.2f} s"


def _describe(n: NodeResult) -> str:
    if n.kind == "test" and n.status == "fail":
        return f"test {n.name} ({n.path}): {n.failures} row(s) break the rule"
    what = "test" if n.kind == "test" else "model"
    # dbt's message starts "Runtime Error in model NAME (PATH)": the path is said already
    message = re.sub(r"^.*? in (model|test) \S+ \([^)]*\)\s*", "", n.message.strip(), flags=re.S)
    message = " ".join(message.split())
    return f"{what} {n.path} failed: {message}"


def work_dir(target: Target, project_dir: Path = PROJECT_DIR) -> Path:
    """dbt's working directory for this project and warehouse: $SYMETRISK_DBT_DIR, else
    $XDG_CACHE_HOME/symetrisk/dbt (~/.cache/...), one subdirectory per (project, warehouse)."""
    base = os.environ.get("SYMETRISK_DBT_DIR") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "symetrisk" / "dbt"
    )
    key = hashlib.sha256(f"{project_dir.resolve()}|{target.kind}|{target.where}".encode())
    path = Path(base) / f"{target.kind}-{key.hexdigest()[:16]}"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def _profile(target: Target, work: Path) -> Iterator[Path]:
    profiles = {PROFILE: {"target": "symetrisk", "outputs": {"symetrisk": target.output}}}
    (work / "profiles.yml").write_text(yaml.safe_dump(profiles), encoding="utf-8")
    saved = os.environ.get(SECRET_ENV)
    if target.secret is not None:
        os.environ[SECRET_ENV] = target.secret
    try:
        yield work
    finally:
        if saved is None:
            os.environ.pop(SECRET_ENV, None)
        else:
            os.environ[SECRET_ENV] = saved


def invoke(
    target: Target,
    command: list[str],
    raw_schema: str,
    work: Path,
    project_dir: Path = PROJECT_DIR,
    callbacks: list[Callable[[Any], None]] | None = None,
) -> Any:
    """Run one dbt command in-process with our profile; return dbt's dbtRunnerResult.
    `callbacks` get every dbt event (build_progress.py)."""
    from dbt.cli.main import dbtRunner

    from pipelines.no_phone_home import dbt_opted_in

    common = [
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(work),
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
        "--vars",
        yaml.safe_dump({"symetrisk_raw_schema": raw_schema}, default_flow_style=True).strip(),
        "--log-level",
        "none",
        "--log-level-file",
        "none",
        "--no-use-colors",
        "--no-version-check",
    ]
    if not dbt_opted_in():  # pipelines/no_phone_home.py
        common.append("--no-send-anonymous-usage-stats")
    with _profile(target, work):
        try:
            parses = command[0] in ("parse", "deps", "debug", "clean")  # no manifest to reuse
            manifest = None if parses else _parsed(target, common, raw_schema, project_dir)
            return dbtRunner(manifest=manifest, callbacks=callbacks or []).invoke(command + common)
        finally:
            _release_duckdb()


# The parsed project, per (project files, adapter, database name, vars), for the commands that
# follow in this process: dbt's own parse cache on disk starts cold whenever the warehouse's path
# changes (it hashes the connection), as it does for nearly every build of the test suite.
_MANIFESTS: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_KEEP_MANIFESTS = 4


def _parsed(target: Target, common: list[str], raw_schema: str, project_dir: Path) -> Any:
    """The manifest of `dbt parse` for this project and target, parsed once per process; None
    when the parse fails (the command itself then reports why)."""
    from dbt.cli.main import dbtRunner

    key = (_fingerprint(project_dir), _connection_key(target), raw_schema)
    manifest = _MANIFESTS.get(key)
    # the environment variables the project reads (env_var() in a model) as parsed
    if manifest is not None and all(os.environ.get(k) == v for k, v in manifest.env_vars.items()):
        _MANIFESTS.move_to_end(key)
        return manifest
    result = dbtRunner().invoke(["parse", "--no-write-json", *common])
    if not result.success or result.result is None:
        return None
    _MANIFESTS[key] = result.result
    while len(_MANIFESTS) > _KEEP_MANIFESTS:
        _MANIFESTS.popitem(last=False)
    return result.result


def _connection_key(target: Target) -> str:
    """The profile output as parsing sees it: a DuckDB file by its database name (the file's
    stem, which the models' relations carry), not by the directory it lies in."""
    output = dict(target.output)
    if target.kind == "duckdb" and "://" not in str(output.get("path", "")):
        output["path"] = Path(str(output["path"])).stem
    return yaml.safe_dump(output, sort_keys=True)


def _fingerprint(project_dir: Path) -> tuple[Any, ...]:
    """Every file of the project (installed packages included, dbt's output excluded) by path,
    size and modification time: an edited model or seed means a new parse."""
    root = project_dir.resolve()
    files = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if relative.parts[0] in NOT_PARSED or path.suffix in (".duckdb", ".wal"):
            continue
        try:
            if path.is_file():
                stat = path.stat()
                files.append((str(relative), stat.st_size, stat.st_mtime_ns))
        except OSError:  # gone while we looked: the key is new either way
            files.append((str(relative), -1, -1))
    return (str(root), *files)


NOT_PARSED = ("target", "logs", "integration_tests")  # beside the project, not part of it


def _release_duckdb() -> None:
    """dbt-duckdb keeps its DuckDB database open in the process after a command; close it, so
    the file is free for the run history, a reader, or a publish by rename."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:
        return
    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
    if env is not None:
        env.close()


def _results(run_result: Any, project_dir: Path) -> list[NodeResult]:
    nodes = []
    for r in getattr(run_result, "results", None) or []:
        node = r.node
        kind = str(getattr(node.resource_type, "value", node.resource_type))
        if kind == "model":
            kind = str(node.config.materialized)
        path = str(Path(project_dir.name) / node.original_file_path)
        status = getattr(r.status, "value", r.status)
        nodes.append(
            NodeResult(
                # a model by its relation's name (fct_borrower_month, not the node's
                # symetrisk__fct_borrower_month: see sql/macros/package.sql), a test by its own
                name=node.name if kind in ("test", "unit_test") else (node.alias or node.name),
                kind="test" if kind in ("test", "unit_test") else kind,
                path=path,
                status=str(status),
                seconds=float(r.execution_time or 0.0),
                message=str(r.message or ""),
                failures=int(r.failures or 0),
            )
        )
    return nodes


def build(
    target: Target,
    raw_schema: str,
    *,
    select: list[str] | None = None,
    only_unit_tests: bool = False,
    project_dir: Path = PROJECT_DIR,
    progress: Callable[[str], None] | None = None,
    on_event: Callable[[Any], None] | None = None,
) -> BuildReport:
    """`dbt build` (every model, then its tests) into target; raises BuildFailed naming each
    model or test that failed, with the report of what ran. The formulas' unit tests (fixed
    inputs, not the data) are left out, as dbt advises for production builds; `only_unit_tests`
    runs them and nothing else (`dbt test --select test_type:unit`, over models built before),
    as the test suite does (tests/warehouse/test_dbt_build.py).

    On Postgres a whole build goes into the schema `<schema>__building` and, when every model
    and test passed, replaces `<schema>` in one transaction (`_swap`), so readers see the old
    set of marts or the new one, never half; a failed build leaves the old one. (On DuckDB the
    caller builds in a working file and publishes it: pipelines/warehouse/publish.py.)"""
    started = time.perf_counter()
    schema = str(target.output["schema"])
    report = BuildReport(schema, raw_schema, target.where)
    try:
        rules_check.check(project_dir / "seeds")
    except rules_check.RulesError as exc:
        raise BuildFailed(None, exc.lines) from None
    swap = target.kind == "postgres" and not select and not only_unit_tests
    if swap:
        target = replace(target, output={**target.output, "schema": f"{schema}{BUILDING}"})
        _postgres(target, [f"drop schema if exists {_ident(schema + BUILDING)} cascade"])
    # no manifest.json or run_results.json: the results come back in-process, and writing them
    # cost about 0.3 s a build (the parse cache, partial_parse.msgpack, is still written)
    if only_unit_tests:
        command = ["test", "--no-write-json", "--select", "test_type:unit"]
    else:
        command = ["build", "--no-write-json", "--exclude-resource-type", "unit_test"]
        command += ["--select", *[_selector(s, project_dir) for s in select]] if select else []
    result = invoke(
        target,
        command,
        raw_schema,
        work_dir(target, project_dir),
        project_dir,
        callbacks=[on_event] if on_event else None,
    )
    if isinstance(result.exception, KeyboardInterrupt):
        raise KeyboardInterrupt  # dbt hands Ctrl-C back as a result: stop as Ctrl-C stops
    report.dbt_seconds = time.perf_counter() - started
    report.nodes = _results(result.result, project_dir)
    report.seconds = time.perf_counter() - started
    if progress:
        for n in report.nodes:
            progress(_node_line(n))
    problems = [_describe(n) for n in report.failed]
    if result.exception is not None and not problems:
        problems = [f"dbt could not build {project_dir.name}/: {_first_line(result.exception)}"]
    if problems or not result.success:
        raise BuildFailed(report, problems or ["dbt build failed"])
    if swap:
        _postgres(
            target,
            [
                f"drop schema if exists {_ident(schema)} cascade",
                f"alter schema {_ident(schema + BUILDING)} rename to {_ident(schema)}",
            ],
        )
        report.seconds = time.perf_counter() - started
    return report


BUILDING = "__building"
PREFIX = "symetrisk__"  # of every model's name in dbt; the relation is named without it


def _selector(token: str, project_dir: Path) -> str:
    """A --select token with a model named as its relation (fct_borrower_month+) turned into
    the model's dbt name (symetrisk__fct_borrower_month+); any other token unchanged."""
    match = re.fullmatch(r"(\d*\+)?([A-Za-z_][A-Za-z0-9_]*)(\+\d*)?", token)
    if not match or match[2].startswith(PREFIX):
        return token
    models = {p.stem for p in (project_dir / "models").rglob(f"{PREFIX}*.sql")}
    if PREFIX + match[2] not in models:
        return token
    return f"{match[1] or ''}{PREFIX}{match[2]}{match[3] or ''}"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _postgres(target: Target, statements: list[str]) -> None:
    """Run statements in one transaction on the target's Postgres (views keep pointing at their
    tables through a schema rename: Postgres binds them by object, not by name)."""
    import psycopg2

    o = target.output
    con = psycopg2.connect(
        host=o["host"], port=o["port"], user=o["user"], password=target.secret, dbname=o["dbname"]
    )
    try:
        with con, con.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
    finally:
        con.close()


@dataclass
class Freshness:
    source: str  # source.table, e.g. symetrisk.dlt_loads
    status: str  # pass, warn, error, runtime error
    max_loaded_at: Any
    age_hours: float | None
    message: str = ""


def freshness(target: Target, raw_schema: str, project_dir: Path = PROJECT_DIR) -> list[Freshness]:
    """`dbt source freshness` of the sources declared with freshness (sql/models/staging/
    _sources.yml). A DuckDB file is opened read-only, beside any reader."""
    if target.kind == "duckdb" and target.output["path"] != ":memory:":
        target = replace(
            target,
            output={**target.output, "config_options": {"access_mode": "READ_ONLY"}},
            where=f"{target.where} (read-only)",
        )
        target.output.pop("settings", None)
    work = work_dir(target, project_dir)
    result = invoke(target, ["source", "freshness"], raw_schema, work, project_dir)
    found = []
    for r in getattr(result.result, "results", None) or []:
        node = r.node
        age = getattr(r, "age", None)
        found.append(
            Freshness(
                source=f"{node.source_name}.{node.name}",
                status=str(getattr(r.status, "value", r.status)),
                max_loaded_at=getattr(r, "max_loaded_at", None),
                age_hours=None if age is None else age / 3600,
                message=" ".join(str(getattr(r, "message", "") or "").split()),
            )
        )
    if not found and result.exception is not None:
        raise BuildFailed(None, [f"dbt source freshness failed: {_first_line(result.exception)}"])
    return found


def docs(target: Target, raw_schema: str, out: Path, project_dir: Path = PROJECT_DIR) -> Path:
    """dbt's docs site (lineage, and every model and column with its description) for the
    warehouse at target, copied to out; returns the index.html to open."""
    import shutil

    work = work_dir(target, project_dir)
    result = invoke(target, ["docs", "generate"], raw_schema, work, project_dir)
    if not result.success:
        raise BuildFailed(None, [f"dbt docs generate failed: {_first_line(result.exception)}"])
    out.mkdir(parents=True, exist_ok=True)
    for name in ("index.html", "manifest.json", "catalog.json"):
        shutil.copyfile(work / "target" / name, out / name)
    return out / "index.html"


def _first_line(exc: BaseException | None) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
