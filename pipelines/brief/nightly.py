"""What `symetrisk run` does for the credit team around publishing a build: record the credit
events the new marts show (in the working file, so the published build carries its ledger),
print the `credit:` line, publish, then write the brief beside the warehouse and deliver the
alerts. Everything after publishing is best effort: it never changes the run's outcome."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def around_publish(
    working: str | None,
    published: str | None,
    run_id: str,
    publish: Callable[[], Any],
    report: bool = True,
    quiet: bool = False,
    timings: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Record, publish (its exception is the caller's: the run fails), then brief and alerts.
    Returns the keys the `symetrisk-run` line adds. For a warehouse that is not a local DuckDB
    file it only publishes. `quiet`: only errors and warnings are printed. `timings` gets the
    seconds of the credit events, the brief and the alerts."""
    import time

    timings = {} if timings is None else timings
    clock = time.perf_counter()
    say = _silent if quiet else print
    if not working or not published:
        publish()
        say("credit: events, brief and alerts need a local DuckDB warehouse (skipped)")
        return {}
    import duckdb

    from pipelines.brief import ledger

    recorded, failure = None, None
    try:
        with duckdb.connect(working) as con:
            if ledger.has_marts(con):  # else --no-models before any build: nothing to compare
                recorded = ledger.record(con, run_id)
    except Exception as exc:  # noqa: BLE001 - the load and the models landed; say what broke
        failure = _first_line(exc)
    if recorded is None:
        publish()
        if failure:
            print(f"credit events not recorded: {failure}", file=sys.stderr)
            return {"credit_recorded": 0}
        return {}
    timings["credit"] = time.perf_counter() - clock
    line = ledger.credit_line(recorded)
    say(line, flush=True)
    publish()
    keys: dict[str, Any] = ledger.line_keys(recorded)
    clock = time.perf_counter()
    brief = write_brief(published, quiet=quiet) if report else None
    timings["brief"] = time.perf_counter() - clock
    clock = time.perf_counter()
    keys.update(send_alerts(working, run_id, line, brief, quiet=quiet))
    timings["alerts"] = time.perf_counter() - clock
    return keys


def write_brief(
    published: str, out_dir: str | Path | None = None, quiet: bool = False
) -> Path | None:
    """Write the brief from the published build; one line either way (`quiet`: only a
    failure's)."""
    from pipelines.brief import report
    from pipelines.warehouse.readers import open_marts

    try:
        con = open_marts(published)
        try:
            path = report.write(con, out_dir or report.reports_dir(published))
        finally:
            con.close()
    except Exception as exc:  # noqa: BLE001 - the build is published; the brief can wait
        print(f"brief not written: {_first_line(exc)}", file=sys.stderr)
        return None
    (_silent if quiet else print)(
        f"brief: {_shown(path)} (and {_shown(path.parent / 'latest.html')})"
    )
    return path


def send_alerts(
    working: str, run_id: str, line: str, brief: Path | None, quiet: bool = False
) -> dict[str, int]:
    import duckdb

    from pipelines.brief import delivery

    try:
        settings = delivery.read_settings()
    except ValueError as exc:
        print(f"alerts not delivered: {exc}", file=sys.stderr)
        return {"alerts_sent": 0, "alerts_failed": 1}
    if not settings.configured:
        return {}
    headline = "Symetrisk credit brief: " + line.removeprefix("credit: ")
    url = settings.brief_url or (brief.resolve().as_uri() if brief else None)
    try:
        with duckdb.connect(working) as con:
            outcome = delivery.deliver(con, run_id, headline, url, settings)
    except Exception as exc:  # noqa: BLE001 - alerts never fail a load
        text = delivery.mask(_first_line(exc), settings.secrets())
        print(f"alerts not delivered: {text}; the next run tries again", file=sys.stderr)
        return {"alerts_sent": 0, "alerts_failed": 1}
    if outcome.failed:
        print(outcome.line(), file=sys.stderr)
    if outcome.sent and not quiet:
        print(f"alerts: {outcome.sent} message(s) delivered ({outcome.events} event(s))")
    return {"alerts_sent": outcome.sent, "alerts_failed": len(outcome.failed)}


def _silent(*_args: Any, **_kwargs: Any) -> None:
    """`print` under --quiet, for the lines that only inform."""


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__
