"""Load the Symetrisk API into the warehouse with the `symetrisk` dlt source, then build the
SQL models.

With no client id configured (SOURCES__SYMETRISK__CLIENT_ID in the environment or .dlt/), the
built-in sandbox API is started in this process and loaded with its demo-bank client, so a
fresh clone runs end to end. With credentials, the configured API is loaded. The warehouse is
the DuckDB file data/symetrisk.duckdb unless DESTINATION__DUCKDB__CREDENTIALS or --destination
says otherwise; dlt keeps its working state under data/dlt (--pipelines-dir).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import threading
import time
import traceback
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from pipelines.orgnr import InvalidOrgNumber, validate_all
from pipelines.symetrisk import settings
from pipelines.symetrisk.settings import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from pipelines.warehouse.destination import (
    add_warehouse_arguments,
    duckdb_path,
    held_open,
    resolve_destination,
    warehouse_file,
)
from pipelines.warehouse.runlock import BUSY_EXIT

EXAMPLES = """examples:
  symetrisk run                                   # no client id set: loads the built-in sandbox
  symetrisk run --sandbox-borrowers 1000 --sandbox-months 100
  symetrisk run --borrowers 810000007 810000015   # only these borrowers' snapshots and details
  symetrisk run --full-refresh                    # re-read every approved borrower's history
  export SOURCES__SYMETRISK__BASE_URL=https://api.symetrisk.com/api/v1
  export SOURCES__SYMETRISK__TOKEN_URL=https://symetrisk.auth.eu-central-1.amazoncognito.com/oauth2/token
  export SOURCES__SYMETRISK__CLIENT_ID=... SOURCES__SYMETRISK__CLIENT_SECRET=...
  symetrisk run                                   # loads the configured API

then query the warehouse:
  symetrisk sql "select * from symetrisk_raw.accounting_snapshots limit 5"
  symetrisk sql "select * from fct_borrower_trend order by altman_z limit 10"
"""


# The arguments and settings checked before any request: each bad one refused with one line
# naming the option or setting and a value that works.

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
    for setting_name, traces in (getattr(cause, "traces", None) or {}).items():
        nested = [t for t in traces if hasattr(t, "traces")]
        if nested:
            parts = sorted({part for t in nested for part in t.traces})
            sections = [list(x.sections) for t in nested for xs in t.traces.values() for x in xs]
            base = "__".join(max(sections, key=len, default=[str(setting_name)])).upper()
            shown = ", ".join(f"__{p.upper()}" for p in parts)
            name = f"{base} (a connection string, or {shown})" if parts else base
        else:
            sections = [list(t.sections) for t in traces if hasattr(t, "sections")]
            longest = max(sections, key=len, default=[])
            # sources.<section>.<name>: the source's section and name are both `symetrisk`
            longest = [p for i, p in enumerate(longest) if i == 0 or p != longest[i - 1]]
            name = "__".join([*longest, str(setting_name)]).upper()
        if name not in names:
            names.append(name)
    return names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--full-refresh",
        action="store_true",
        help="re-read every approved borrower's whole history and detail (keeps loaded history)",
    )
    parser.add_argument(
        "--borrowers",
        nargs="+",
        metavar="ORG",
        help="load only these borrowers (9-digit organisation numbers)",
    )
    add_warehouse_arguments(parser)
    parser.add_argument(
        "--lookback-months",
        type=whole_number(0),
        default=settings.DEFAULT_LOOKBACK_MONTHS,
        help="newest loaded months re-read every run, to catch revisions (default: %(default)s)",
    )
    parser.add_argument(
        "--concurrency",
        type=whole_number(1),
        default=settings.DEFAULT_CONCURRENCY,
        help="requests in flight at once, all tables together (default: %(default)s)",
    )
    parser.add_argument(
        "--rate-limit",
        type=non_negative_number(" (requests per second; 0 = no cap)"),
        default=settings.DEFAULT_RATE_LIMIT_RPS,
        metavar="RPS",
        help="at most this many requests per second, 0 for no cap (default: %(default)s); "
        "429 Retry-After is always obeyed",
    )
    parser.add_argument(
        "--no-models", action="store_true", help="load only; do not build the SQL models"
    )
    parser.add_argument(
        "--sandbox-borrowers",
        type=whole_number(1),
        default=200,
        help="portfolio size when the built-in sandbox is used (default: %(default)s)",
    )
    parser.add_argument(
        "--sandbox-months",
        type=whole_number(1),
        default=36,
        help="months of history per borrower in the built-in sandbox (default: %(default)s)",
    )
    parser.add_argument(
        "--sandbox-latency-ms",
        type=whole_number(0),
        default=0,
        help="added latency per request of the built-in sandbox (default: %(default)s)",
    )
    parser.add_argument(
        "--read-timeout",
        type=positive_seconds,
        metavar="SECONDS",
        help="give up on an API answer after this long and retry "
        f"(default: {settings.DEFAULT_READ_TIMEOUT_S:g})",
    )
    parser.add_argument(
        "--no-report", action="store_true", help="do not write the credit brief after publishing"
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="print only errors, warnings and the final `symetrisk-run` line (for cron)",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on failure")
    # for bench.run: one `phases:` line with the seconds of each step of the run
    parser.add_argument("--phase-times", action="store_true", help=argparse.SUPPRESS)


@dataclass
class LoadOptions:
    full_refresh: bool = False
    borrowers: list[str] | None = None
    dataset: str = settings.DATASET_NAME
    destination: str | None = None
    pipelines_dir: str = settings.DEFAULT_PIPELINES_DIR
    lookback_months: int = settings.DEFAULT_LOOKBACK_MONTHS
    concurrency: int = settings.DEFAULT_CONCURRENCY
    rate_limit: float = settings.DEFAULT_RATE_LIMIT_RPS
    models: bool = True
    sandbox_borrowers: int = 200
    sandbox_months: int = 36
    sandbox_latency_ms: int = 0
    read_timeout: float | None = None  # seconds; None = the source's default or config
    progress: bool = True
    quiet: bool = False  # no banner, notes, summary: errors and the final line only
    # parquet: DuckDB loads it with one COPY (measured faster than INSERT statements)
    file_format: str | None = "parquet"
    # explicit API settings (tests, bench); None = from dlt config, or the built-in sandbox
    base_url: str | None = None
    token_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    source_options: dict[str, Any] = field(default_factory=dict)


@dataclass
class LoadResult:
    stats: Any
    seconds: float
    warehouse: str | None
    dataset: str
    load_info: Any = None
    models_line: str | None = None
    sandbox_url: str | None = None
    working: str | None = None  # the loader's own DuckDB file (a local DuckDB warehouse only)
    published: Any = None  # publish.Published, once the build is published


def options_from_args(args: argparse.Namespace) -> LoadOptions:
    return LoadOptions(
        full_refresh=args.full_refresh,
        borrowers=args.borrowers,
        dataset=args.dataset,
        destination=args.destination,
        pipelines_dir=args.pipelines_dir,
        lookback_months=args.lookback_months,
        concurrency=args.concurrency,
        rate_limit=args.rate_limit,
        models=not args.no_models,
        sandbox_borrowers=args.sandbox_borrowers,
        sandbox_months=args.sandbox_months,
        sandbox_latency_ms=args.sandbox_latency_ms,
        read_timeout=args.read_timeout,
        progress=not args.quiet,
        quiet=args.quiet,
    )


def main(args: argparse.Namespace) -> int:
    """Check the arguments, take the run lock (pipelines/runlock.py), then load and report."""
    from pipelines.warehouse.runlock import RunLockedError, run_lock

    try:
        if args.borrowers:
            validate_all(args.borrowers)
        if args.lookback_months < 0 or args.concurrency < 1:
            raise ValueError("--lookback-months must be >= 0 and --concurrency >= 1")
        if args.read_timeout is not None and args.read_timeout <= 0:
            raise ValueError("--read-timeout must be more than 0 seconds")
        check_destination(args.destination)
    except (InvalidOrgNumber, ValueError, BadArgument) as exc:
        print(f"symetrisk run: {exc}", file=sys.stderr)
        return 2
    try:
        with run_lock(warehouse_file(args.destination), args.pipelines_dir):
            return load_and_report(args, started_run(args.pipelines_dir))
    except RunLockedError as exc:
        print(f"symetrisk run: {exc}", file=sys.stderr)
        from pipelines.symetrisk import RunStats
        from pipelines.warehouse import runs

        options = options_from_args(args)
        runs.close(runs.RunRecord(), options, RunStats(), runs.FAILED, str(exc), warehouse=False)
        return BUSY_EXIT


def started_run(pipelines_dir: str) -> Any:
    """A new run record, its start written to the run journal (a run killed from here on is
    reported by `status`); a journal that cannot be written is one line, never a stop."""
    from pipelines.warehouse import journal, runs

    record = runs.RunRecord()
    try:
        journal.started(record, pipelines_dir)
    except OSError as exc:
        print(f"run journal not written: {runs.first_line(exc)}", file=sys.stderr)
    return record


def load_and_report(args: argparse.Namespace, record: Any = None) -> int:
    from pipelines.symetrisk import RunStats, stopping
    from pipelines.symetrisk.errors import SymetriskError
    from pipelines.warehouse import publish as publishing
    from pipelines.warehouse import runs
    from pipelines.warehouse.runlock import busy_message

    load_started = time.perf_counter()
    PHASES.clear()  # a process may run more than once (bench.run --in-process, tests)
    publishing.last_seed = None
    options, stats = options_from_args(args), RunStats()
    record = record or runs.RunRecord()
    stopping.clear()
    try:
        result = run_load(options, stats=stats, publish=False)
    except BaseException as exc:  # noqa: BLE001 - one readable line, the traceback on --debug
        if is_interrupt(exc):
            stopping.request_stop()  # threads still at work abort their requests now
            print(f"symetrisk run: {INTERRUPTED}", file=sys.stderr, flush=True)
            runs.close(record, options, stats, runs.FAILED, "interrupted")
            return INTERRUPTED_EXIT
        cause = root_cause(exc)
        if args.debug:
            traceback.print_exc()
        missing = missing_settings(cause) if "Missing" in type(cause).__name__ else None
        hint, busy = "", busy_message(cause)
        if busy:
            message = busy
        elif isinstance(cause, SymetriskError | InvalidOrgNumber):
            message = str(cause)
        elif missing:
            names = ", ".join(missing)
            message = (
                f"missing setting(s) {names} (environment, .dlt/config.toml or .dlt/secrets.toml)"
            )
        else:
            message = describe(cause)
            hint = "" if args.debug else " (run with --debug for the traceback)"
        print(f"symetrisk run failed: {message}{hint}", file=sys.stderr)
        runs.close(record, options, stats, runs.FAILED, message)
        return BUSY_EXIT if busy else 1
    models_failed = bool(result.models_line and result.models_line.startswith("models FAILED"))
    if not args.quiet:
        print(summary(result))
    elif models_failed:  # an error: shown even with --quiet
        print(result.models_line)
    outcome = runs.MODELS_FAILED if models_failed else runs.PARTIAL if stats.failed else runs.OK
    error = result.models_line if models_failed else partial_line(stats) if stats.failed else None
    if outcome == runs.PARTIAL:
        print(f"symetrisk run partial: {error}", file=sys.stderr)
    record = runs.close(
        record,
        options,
        stats,
        outcome,
        error,
        result,
        publish=None if models_failed else lambda: credit_step(args, result, record.run_id),
        ending=None if args.quiet else ending_line,
    )
    if getattr(args, "phase_times", False):
        print(phases_line(load_started), flush=True)
    if record.outcome == runs.FAILED:  # publishing failed
        return 1
    return 1 if models_failed else PARTIAL_EXIT if stats.failed else 0


PARTIAL_EXIT = 5  # some borrowers were skipped for failures; the rest loaded


def partial_line(stats: Any) -> str:
    orgs = sorted(stats.failed)
    shown = ", ".join(orgs[:5]) + (" ..." if len(orgs) > 5 else "")
    return (
        f"{len(orgs)} borrower(s) skipped after failures ({shown}); every other borrower loaded; "
        "the skipped ones keep their old state and the next run tries them again"
    )


INTERRUPTED = "interrupted; the next run finishes this load"
INTERRUPTED_EXIT = 130  # 128 + SIGINT, as a shell reports Ctrl-C


def is_interrupt(exc: BaseException) -> bool:
    """Ctrl-C, however it arrived: KeyboardInterrupt, dlt's SignalReceivedException (dlt
    intercepts SIGINT during its steps) or DuckDB's InterruptException, possibly wrapped."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, KeyboardInterrupt) or type(current).__name__ in (
            "SignalReceivedException",
            "InterruptException",
            "Stopped",  # a request the stop aborted (pipelines/symetrisk/stopping.py)
        ):
            return True
        current = getattr(current, "exception", None) or current.__cause__ or current.__context__
    return False


def run_load(
    options: LoadOptions, stats: Any = None, out: TextIO | None = None, publish: bool = True
) -> LoadResult:
    """Load once (starting the sandbox when no client id is configured) into the working file
    and build the models there; then, with `publish` and unless the models failed, publish the
    build to the file readers open (pipelines/warehouse/publish.py). Raise on failure."""
    import dlt

    from pipelines.symetrisk import RunStats, symetrisk
    from pipelines.testing import pipeline_hooks

    out = out or sys.stderr
    stats = stats if stats is not None else RunStats()
    # dlt adds _dlt_load_id to Arrow tables only when asked; the source's Arrow tables carry
    # their own _dlt_id, so dlt need not rewrite them to add one (docs/data-contract.md)
    os.environ.setdefault("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID", "true")
    os.environ.setdefault("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_ID", "false")
    # staging rows are deleted once merged, so they never reach the file (held_open)
    os.environ.setdefault("LOAD__TRUNCATE_STAGING_DATASET", "true")
    with ExitStack() as stack:
        api = api_settings(options)
        sandbox_url = None
        if api["client_id"] is None:
            sandbox = stack.enter_context(start_sandbox(options))
            sandbox_url = sandbox.base_url
            api = {
                "base_url": sandbox.api_url,
                "token_url": sandbox.token_url,
                "client_id": SANDBOX_CLIENT_ID,
                "client_secret": SANDBOX_CLIENT_SECRET,
            }
            if not options.quiet:
                print(
                    f"no {settings.SETTING_CLIENT_ID} configured: loading the built-in sandbox "
                    f"({options.sandbox_borrowers} borrowers x {options.sandbox_months} months) "
                    f"at {sandbox.base_url} as {SANDBOX_CLIENT_ID}",
                    file=out,
                )
        destination, warehouse = resolve_destination(options.destination)
        Path(options.pipelines_dir).mkdir(parents=True, exist_ok=True)
        from pipelines.warehouse.private_files import make_private, warehouse_files

        # what an older version or another umask left readable by others
        make_private([options.pipelines_dir, *warehouse_files(warehouse)])
        pipeline = dlt.pipeline(
            pipeline_name=settings.PIPELINE_NAME,
            destination=destination,
            dataset_name=options.dataset,
            pipelines_dir=str(Path(options.pipelines_dir).resolve()),
            **pipeline_hooks(),
        )
        started = time.monotonic()
        finish_interrupted_run(pipeline, out, stats)
        source_options = dict(options.source_options)
        if options.borrowers is not None:  # else sources.symetrisk.borrowers from config, if set
            source_options["borrowers"] = options.borrowers
        if options.read_timeout is not None:
            source_options.setdefault("read_timeout_s", options.read_timeout)
        source = symetrisk(
            **{k: v for k, v in api.items() if v},
            lookback_months=options.lookback_months,
            concurrency=options.concurrency,
            rate_limit_rps=options.rate_limit,
            full_refresh=options.full_refresh,
            stats=stats,
            read_ahead=True,
            **source_options,
        )
        for note in shown_to(options, stats, stats.notes):
            print(note, file=out)
        shown_notes = len(stats.notes)
        progress = Progress(stats, out) if options.progress else None
        # Pages become millions of short-lived dicts; the cyclic GC would walk them over and
        # over (measured: a third of the extract's CPU). Nothing here relies on it. It is only
        # enabled again after: a full collection here walked every object the run left (0.04 s
        # at 1,000 borrowers) to free some 13,000, and the GC finds them anyway when it next runs.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            if progress:
                progress.start()
            with held_open(pipeline):
                load_info = pipeline.run(source, loader_file_format=options.file_format)
        finally:
            if gc_was_enabled:
                gc.enable()
            if progress:
                progress.stop()
        for note in shown_to(options, stats, stats.notes[shown_notes:]):
            print(note, file=out)
        seconds = time.monotonic() - started
        PHASES["load"] = seconds
        result = LoadResult(
            stats=stats,
            seconds=seconds,
            warehouse=warehouse or duckdb_path(pipeline),
            dataset=options.dataset,
            load_info=load_info,
            sandbox_url=sandbox_url,
        )
        if options.models:
            models_started = time.perf_counter()
            result.models_line = build_models_after_load(
                pipeline, options.dataset, out if options.progress else None
            )
            PHASES["models"] = time.perf_counter() - models_started
        result.working = duckdb_path(pipeline) if warehouse else None
        from pipelines.warehouse.prune import prune_loaded_packages

        prune_loaded_packages(pipeline)  # bounded disk (prune.py)
        if publish and not (result.models_line or "").startswith("models FAILED"):
            publish_build(result)
        return result


PHASES: dict[str, float] = {}  # seconds of each step of this run, for --phase-times


def credit_step(args: argparse.Namespace, result: LoadResult, run_id: str) -> dict[str, Any]:
    """Publish, with the credit events recorded before and the brief and alerts after
    (pipelines/brief/nightly.py); the keys it adds to the closing line."""
    from pipelines.brief.nightly import around_publish

    def publish() -> None:
        started = time.perf_counter()
        published = publish_build(result)
        PHASES["publish"] = time.perf_counter() - started
        say_published(published, args)

    return around_publish(
        result.working,
        result.warehouse if result.working else None,
        run_id,
        publish,
        report=not getattr(args, "no_report", False),
        quiet=getattr(args, "quiet", False),
        timings=PHASES,
    )


def phases_line(started: float) -> str:
    """`phases: seed=... load=... models=... credit=... publish=... brief=... alerts=...
    total=...` in seconds, for the steps this run took (the seed: the working file made anew
    from the published build, pipelines/warehouse/publish.py)."""
    from pipelines.warehouse import publish

    times = dict(PHASES)
    if publish.last_seed is not None:
        times = {"seed": publish.last_seed.seconds, **times}
    times["total"] = time.perf_counter() - started
    return "phases: " + " ".join(f"{name}={seconds:.3f}" for name, seconds in times.items())


def shown_to(options: LoadOptions, stats: Any, notes: list[str]) -> list[str]:
    """The notes to print: all of them, or with --quiet only the warnings."""
    if not options.quiet:
        return notes
    return [note for note in notes if note not in stats.info_notes]


def publish_build(result: LoadResult) -> Any:
    """Publish the working file of a local DuckDB warehouse; nothing for other destinations.
    Returns the publish.Published, or None."""
    from pipelines.warehouse.publish import publish

    if result.working and result.warehouse:
        result.published = publish(result.working, result.warehouse)
    return result.published


def say_published(published: Any, args: Any = None) -> None:
    if published and not getattr(args, "quiet", False):
        print(
            f"published: {display_path(str(published.path))} "
            f"({published.bytes / 1e6:,.1f} MB in {published.seconds:.2f} s); "
            "readers opening it from now on see this build"
        )


def finish_interrupted_run(pipeline: Any, out: TextIO, stats: Any = None) -> None:
    """Load what a killed or failed run left in dlt's working dir before extracting anew.
    Its package holds the rows and the state that goes with them, so state never runs ahead
    of the data (dlt's own `run` would load them and then stop without extracting). The rows
    it loaded are counted as new in `stats` (the interrupted run never reported them)."""
    if not pipeline.has_pending_data:
        return
    packages = len(pipeline.list_extracted_load_packages()) + len(
        pipeline.list_normalized_load_packages()
    )
    print(f"finishing {packages} load package(s) left by an interrupted run", file=out)
    from pipelines.warehouse.resume import reset_uncertain_staging

    load_ids = list(pipeline.list_extracted_load_packages()) + list(
        pipeline.list_normalized_load_packages()
    )

    reset = reset_uncertain_staging(pipeline)
    if reset:
        print(
            f"reloading staging table(s) {', '.join(reset)}: a load job may have committed "
            "before the interruption",
            file=out,
        )
    pipeline.run()
    if stats is not None:
        from pipelines.warehouse.finished import count_rows_of_loads

        for table, rows in count_rows_of_loads(pipeline, load_ids).items():
            stats.table(table)
            stats.count(table, "new", rows)


def api_settings(options: LoadOptions) -> dict[str, str | None]:
    """The API settings given as options; the rest the source reads from dlt's config
    (environment, .dlt/config.toml, .dlt/secrets.toml). `client_id` is looked up there too, to
    know whether to start the sandbox."""
    import dlt

    found: dict[str, str | None] = {
        name: getattr(options, name)
        for name in ("base_url", "token_url", "client_id", "client_secret")
    }
    if not found["client_id"] and not dlt.config.get("sources.symetrisk.client_id"):
        found["client_id"] = None
    elif not found["client_id"]:
        found["client_id"] = ""  # configured: the source resolves it
    return found


def start_sandbox(options: LoadOptions) -> Any:
    try:
        from pipelines.sandbox.server import SandboxOptions, SandboxServer
    except ImportError as exc:
        raise RuntimeError(
            f"no {settings.SETTING_CLIENT_ID} configured and the sandbox is not available ({exc})"
        ) from exc
    return SandboxServer(
        SandboxOptions(
            borrowers=options.sandbox_borrowers,
            months=options.sandbox_months,
            latency_ms=options.sandbox_latency_ms,
        ),
        host="127.0.0.1",
        port=0,
    )


def build_models_after_load(pipeline: Any, dataset: str, out: TextIO | None = None) -> str:
    """Build the dbt project into the destination this pipeline just loaded (for DuckDB the
    very file dlt wrote); one line for the summary. With `out`, progress through the build
    ("building models 12/23") goes there."""
    from pipelines.warehouse import dbt_build
    from pipelines.warehouse.build_progress import BuildProgress
    from pipelines.warehouse.missing_lines import MissingLines, check_pipeline
    from pipelines.warehouse.runs import first_line

    try:
        check_pipeline(pipeline, dataset)
        shown = BuildProgress(out) if out is not None else None
        try:
            report = dbt_build.build(
                dbt_build.target_for(pipeline), raw_schema=dataset, on_event=shown
            )
        finally:
            if shown is not None:
                shown.close()
    except MissingLines as exc:
        return f"models FAILED: {exc}"
    except dbt_build.UnsupportedDestination as exc:
        return f"models: skipped ({exc})"
    except dbt_build.BuildFailed as exc:
        return f"models FAILED: {exc.problems[0]}" + (
            f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
        )
    except Exception as exc:  # noqa: BLE001 - the load landed; say what broke in the models
        return f"models FAILED: {first_line(exc)}"
    return report.summary()


# --- progress and summary ---------------------------------------------------------------------


class Progress:
    """A throttled progress line on stderr: borrowers done / total, snapshots and their rate."""

    def __init__(self, stats: Any, out: TextIO, every_s: float | None = None) -> None:
        self.stats, self.out = stats, out
        self.tty = bool(getattr(out, "isatty", lambda: False)())
        self.every_s = every_s or (0.5 if self.tty else 10.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="progress", daemon=True)
        self._width = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        if self.tty and self._width:
            self.out.write("\r" + " " * self._width + "\r")
            self.out.flush()

    def line(self) -> str:
        s = self.stats
        elapsed = max(s.elapsed, 1e-6)
        phase = "normalizing and loading" if s.extract_done else "extracting"
        done = f"borrowers {s.borrowers_done:,}/{s.borrowers_total:,}"
        if s.borrowers_total and not s.extract_done:
            done += f" ({100 * s.borrowers_done / s.borrowers_total:.0f} %, {time_left(s)})"
        return (
            f"{phase}: {done}, "
            f"{s.snapshots_fetched:,} snapshots ({s.snapshots_fetched / elapsed:,.0f}/s), "
            f"{s.requests:,} requests, {s.retries:,} retries, {elapsed:,.0f} s"
        )

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            text = self.line()
            if self.tty:
                self.out.write("\r" + text.ljust(self._width))
                self._width = max(self._width, len(text))
            else:
                self.out.write(text + "\n")
            self.out.flush()


def time_left(stats: Any) -> str:
    """The extract's time left at the rate so far: "about 2 min left" ("? left" before the
    first borrower is done)."""
    done, total = stats.borrowers_done, stats.borrowers_total
    if done <= 0:
        return "? left"
    seconds = max(0.0, stats.elapsed * (total - done) / done)
    if seconds < 60:
        return f"about {seconds:.0f} s left"
    if seconds < 3600:
        return f"about {seconds / 60:.0f} min left"
    return f"about {seconds / 3600:.1f} h left"


def ending_line(record: Any) -> str:
    """The human end of a run, printed just before the greppable `symetrisk-run` line."""
    what = {"ok": "done", "partial": "done, some borrowers skipped"}.get(record.outcome)
    return f"symetrisk run {what or record.outcome.upper()} in {record.seconds:,.1f} s"


def summary(result: LoadResult) -> str:
    s = result.stats
    lines = [f"{'table':<30} {'new':>10} {'changed':>10} {'unchanged':>10}"]
    reloaded = any(rows.get("reloaded") for rows in s.rows.values())
    if reloaded:
        lines[0] += f" {'reloaded':>10}"
    for table, rows in s.rows.items():
        line = f"{table:<30} {rows['new']:>10,} {rows['changed']:>10,} {rows['unchanged']:>10,}"
        if reloaded:
            line += f" {rows['reloaded']:>10,}"
        lines.append(line)
    rate = s.snapshots_fetched / result.seconds if result.seconds else 0.0
    lines.append(
        f"requests: {s.requests:,} ({s.retries:,} retries) in {result.seconds:,.1f} s; "
        f"{s.snapshots_fetched:,} snapshots read ({rate:,.0f}/s)"
    )
    if s.errors:
        lines.append(f"skipped: {len(s.errors)} (see the lines above)")
    if result.models_line:
        lines.append(result.models_line)
    if result.warehouse:
        where = display_path(result.warehouse)
        lines.append(f"warehouse: {where} (raw tables in {result.dataset}, models in analytics)")
        lines.append(
            f"query it: {query_command(result)} "
            f'"select organization_number, count(*) as months, max(snapshot_date) as newest '
            f'from {result.dataset}.accounting_snapshots group by 1 order by 1 limit 10"'
        )
    return "\n".join(lines)


def query_command(result: LoadResult) -> str:
    """`symetrisk sql` with the --destination that finds this run's warehouse: the published
    DuckDB file, or the dlt destination's name (postgres) for any other."""
    program = Path(sys.argv[0]).name
    command = display_path(sys.argv[0]) if program == "symetrisk" else "symetrisk"
    destination = getattr(getattr(result.load_info, "pipeline", None), "destination", None)
    name = getattr(destination, "destination_name", None)
    if result.working or name in (None, "duckdb"):
        target = display_path(result.warehouse or "")
    else:
        target = name
    return f"{command} sql --destination {target}"


def display_path(path: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return path


def root_cause(exc: BaseException) -> BaseException:
    """The error under dlt's PipelineStepFailed / ResourceExtractionError wrappers."""
    from pipelines.symetrisk.errors import SymetriskConfigError, SymetriskError

    seen = set()
    current: BaseException | None = exc
    found = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found = current
        if isinstance(current, SymetriskError | InvalidOrgNumber):
            return current
        if type(current).__name__ == "ConfigValueCannotBeCoercedException":
            field_name = str(getattr(current, "field_name", "?"))
            hint = getattr(getattr(current, "hint", None), "__name__", "the expected type")
            shown = "" if "secret" in field_name else f" = {getattr(current, 'field_value', '')!r}"
            example = ' (a list is written ["810000007", "810000015"])' if hint == "list" else ""
            return SymetriskConfigError(
                f"the setting SOURCES__SYMETRISK__{field_name.upper()}{shown} is not a "
                f"{hint}{example}"
            )
        current = getattr(current, "exception", None) or current.__cause__ or current.__context__
    return found


def describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
