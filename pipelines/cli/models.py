"""`symetrisk models`: rebuild the credit-trend models (the dbt project in sql/) in the warehouse,
then run their tests, without loading anything.

The warehouse is the one `symetrisk run` writes to: the same `--destination` (or setting), the
same raw dataset. dbt runs in this process with a profile made from those settings
(pipelines/warehouse/dbt_build.py); there is no profiles.yml to keep. A local DuckDB warehouse is
built in its working file under the run lock and then published (pipelines/warehouse/publish.py),
so readers see the previous build or the whole new one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines.symetrisk import settings
from pipelines.warehouse.destination import add_warehouse_arguments

EXAMPLES = """\
examples:
  symetrisk models                                  # rebuild data/symetrisk.duckdb's models
  symetrisk models --destination /tmp/bank.duckdb --dataset bank_raw
  symetrisk models --destination postgres           # DESTINATION__POSTGRES__CREDENTIALS
  symetrisk models --select fct_borrower_month+     # one model and what depends on it
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database", metavar="PATH", help="a DuckDB file (as --destination)")
    add_warehouse_arguments(parser, "--raw-schema")
    parser.add_argument(
        "--select", nargs="+", metavar="NODE", help="dbt node selection (default: everything)"
    )
    parser.add_argument(
        "--docs",
        metavar="DIR",
        help="instead of building, generate dbt's docs site (lineage, every column described) "
        "into DIR from the published warehouse (`make docs`: data/dbt-docs)",
    )


def local_file(args: argparse.Namespace) -> str | None:
    """The local DuckDB warehouse file these arguments name, or None for another destination."""
    from pipelines.warehouse.destination import warehouse_file

    choice = args.destination or args.database
    return warehouse_file(choice) if not choice or choice.endswith(".duckdb") else None


def target_from_args(args: argparse.Namespace):
    """The dbt target of a warehouse that is not a local DuckDB file, from the same settings
    `symetrisk run` loads with (dlt's configuration of that destination)."""
    import dlt

    from pipelines.warehouse import dbt_build
    from pipelines.warehouse.destination import resolve_destination

    destination, _ = resolve_destination(args.destination or args.database)
    pipeline = dlt.pipeline(
        pipeline_name=settings.PIPELINE_NAME,
        destination=destination,
        dataset_name=args.dataset,
        pipelines_dir=str(Path(args.pipelines_dir).resolve()),
    )
    return dbt_build.target_for(pipeline)


def main(args: argparse.Namespace) -> int:
    import duckdb

    from pipelines.warehouse import dbt_build
    from pipelines.warehouse.missing_lines import MissingLines, check_duckdb_file
    from pipelines.warehouse.publish import prepare_working, publish, working_path
    from pipelines.warehouse.runlock import BUSY_EXIT, RunLockedError, busy_message, run_lock

    file = local_file(args)
    if getattr(args, "docs", None):
        return make_docs(args, file)
    if file is None:
        try:
            target = target_from_args(args)
        except Exception as exc:  # noqa: BLE001 - settings: one line, never the credentials
            print(f"error: cannot use the destination: {type(exc).__name__}", file=sys.stderr)
            return 1
        return build_in(target, args)
    remote = file.startswith(("md:", "motherduck:")) or file == ":memory:"
    if remote:
        return build_in(dbt_build.duckdb_target(file), args)
    if not Path(file).exists() and not working_path(file).exists():
        print(
            f"error: no warehouse at {file}. Run `make run` first: it loads the sandbox "
            "(or the configured API) and builds the models.",
            file=sys.stderr,
        )
        return 2
    try:
        with run_lock(file, None):
            working = str(prepare_working(file))
            try:
                check_duckdb_file(working, args.dataset)
            except MissingLines as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            code = build_in(dbt_build.duckdb_target(str(Path(working).resolve())), args)
            if code == 0:
                done = publish(working, file)
                print(f"published: {file} ({done.bytes / 1e6:,.1f} MB in {done.seconds:.1f} s)")
            return code
    except (RunLockedError, OSError, duckdb.Error) as exc:
        message = busy_message(exc)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return BUSY_EXIT


def build_in(target, args: argparse.Namespace) -> int:
    from pipelines.warehouse import dbt_build

    print(f"building {dbt_build.PROJECT_DIR.name}/ into {target.where}: schema {dbt_build.SCHEMA}")
    try:
        report = dbt_build.build(
            target, args.dataset, select=args.select, progress=lambda line: print(line)
        )
    except dbt_build.BuildFailed as exc:
        if exc.report:
            print(exc.report.summary())
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - e.g. a wrong password: one line, never the secret
        print(f"error: {cannot_build(target, exc)}", file=sys.stderr)
        return 1
    print(report.summary())
    return 0


def cannot_build(target, exc: BaseException) -> str:
    """One line for a build that could not start (the connection refused, ...)."""
    from pipelines.warehouse.runs import first_line

    text = first_line(exc) or type(exc).__name__
    if target.secret:
        text = text.replace(target.secret, "***")
    return f"cannot build in {target.where}: {text}"


def make_docs(args: argparse.Namespace, file: str | None) -> int:
    from pipelines.warehouse import dbt_build

    try:
        if file is None:
            target = target_from_args(args)
        elif Path(file).exists():
            target = dbt_build.duckdb_target(str(Path(file).resolve()))
        else:
            print(f"error: no warehouse at {file}. Run `make run` first.", file=sys.stderr)
            return 2
        index = dbt_build.docs(target, args.dataset, Path(args.docs))
    except dbt_build.BuildFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"dbt docs: {index} (open it in a browser, or serve {index.parent} over HTTP)")
    return 0
