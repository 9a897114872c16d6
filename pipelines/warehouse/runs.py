"""Run history: one row per `symetrisk run` in the warehouse table `<dataset>.runs`, failed runs
included, a line in the local run journal (pipelines/warehouse/journal.py) for every run, and
the one grep-able line every run ends its output with.

The row is written with dlt's SQL client of the run's own destination right after the load (or
its failure), so it lands wherever the raw tables do; for a local DuckDB file that is the
working file, before it is published, so the published build holds its own run's row.
Columns: run_id, started_at, finished_at, seconds, outcome (`ok`, `partial`, `failed`,
`models_failed`), error, rows (JSON: table -> new / changed / unchanged / reloaded), requests,
retries, requests_by_status (JSON), errors (JSON list of skipped borrowers and the like;
`ORG: table: reason` for each borrower a `partial` run skipped), notes (JSON), client_id, api,
load_id. Secrets are never written: the configured client secret is masked in every text that
is stored or printed."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipelines.symetrisk import settings
from pipelines.warehouse.journal import FAILED, MODELS_FAILED, OK, PARTIAL  # noqa: F401 (handed on)

TABLE = "runs"
LINE_PREFIX = "symetrisk-run"

COLUMNS = {
    "run_id": "varchar",
    "started_at": "timestamp with time zone",
    "finished_at": "timestamp with time zone",
    "seconds": "double precision",  # portable: Postgres has no "double"
    "outcome": "varchar",
    "error": "varchar",
    "rows": "json",
    "requests": "bigint",
    "retries": "bigint",
    "requests_by_status": "json",
    "errors": "json",
    "notes": "json",
    "client_id": "varchar",
    "api": "varchar",
    "load_id": "varchar",
}


@dataclass
class RunRecord:
    run_id: str = ""
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    finished_at: dt.datetime | None = None
    outcome: str = OK
    error: str | None = None
    rows: dict[str, dict[str, int]] = field(default_factory=dict)
    requests: int = 0
    retries: int = 0
    requests_by_status: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    client_id: str | None = None
    api: str | None = None
    load_id: str | None = None
    # keys the run's credit step adds to the closing line (pipelines/brief/nightly.py)
    credit: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.run_id:
            stamp = self.started_at.strftime("%Y%m%dT%H%M%SZ")
            self.run_id = f"{stamp}-{secrets.token_hex(3)}"

    @property
    def seconds(self) -> float:
        end = self.finished_at or dt.datetime.now(dt.timezone.utc)
        return round((end - self.started_at).total_seconds(), 3)

    def finish(self, stats: Any, outcome: str, error: str | None = None) -> RunRecord:
        self.finished_at = dt.datetime.now(dt.timezone.utc)
        self.outcome = outcome
        self.error = error
        self.rows = {t: dict(r) for t, r in stats.rows.items()}
        self.requests, self.retries = stats.requests, stats.retries
        self.requests_by_status = {str(k): v for k, v in sorted(stats.requests_by_status.items())}
        self.errors, self.notes = list(stats.errors), list(stats.notes)
        return self

    def masked(self, hidden: list[str]) -> RunRecord:
        """A copy whose texts never contain any of `hidden` (the configured secrets)."""

        def mask(text: str | None) -> str | None:
            for secret in hidden:
                if text and secret:
                    text = text.replace(secret, "***")
            return text

        copy = RunRecord(**{**self.__dict__})
        copy.error = mask(self.error)
        copy.errors = [mask(e) or "" for e in self.errors]
        copy.notes = [mask(n) or "" for n in self.notes]
        return copy

    def values(self) -> list[Any]:
        as_json = ("rows", "requests_by_status", "errors", "notes")
        row = {**self.__dict__, "seconds": self.seconds}
        return [json.dumps(row[c]) if c in as_json else row[c] for c in COLUMNS]

    def line(self) -> str:
        """The closing log line: `key=value` pairs, values with spaces quoted."""
        total = {
            kind: sum(r.get(kind, 0) for r in self.rows.values())
            for kind in ("new", "changed", "unchanged")
        }
        pairs: dict[str, Any] = {
            "ts": (self.finished_at or self.started_at).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "run_id": self.run_id,
            "outcome": self.outcome,
            "seconds": f"{self.seconds:.1f}",
            "rows_new": total["new"],
            "rows_changed": total["changed"],
            "rows_unchanged": total["unchanged"],
            "snapshots_new": self.rows.get("accounting_snapshots", {}).get("new", 0),
            "requests": self.requests,
            "retries": self.retries,
            "errors": len(self.errors),
            "client_id": self.client_id or "",
        }
        pairs.update(self.credit)
        if self.error:
            pairs["error"] = self.error
        return LINE_PREFIX + " " + " ".join(f"{k}={kv_value(v)}" for k, v in pairs.items())


def kv_value(value: Any) -> str:
    text = str(value)
    if text and not any(c in text for c in ' "=\n\t'):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def configured_secrets(explicit: str | None = None) -> list[str]:
    found = [explicit, os.environ.get(settings.SETTING_CLIENT_SECRET)]
    try:
        import dlt

        found.append(dlt.secrets.get("sources.symetrisk.client_secret"))
    except Exception:  # noqa: BLE001 - a config that cannot be read has no secret to hide
        pass
    return [str(s) for s in found if s and len(str(s)) >= 4]


def write(record: RunRecord, destination: str | None, dataset: str, pipelines_dir: str) -> None:
    """Write the run's row to `<dataset>.runs` (created on first use) with dlt's SQL client,
    replacing an earlier row of the same run."""
    from pathlib import Path

    import dlt

    from pipelines.warehouse.destination import resolve_destination

    dest, _ = resolve_destination(destination)
    Path(pipelines_dir).mkdir(parents=True, exist_ok=True)
    pipeline = dlt.pipeline(
        pipeline_name=settings.PIPELINE_NAME,
        destination=dest,
        dataset_name=dataset,
        pipelines_dir=str(Path(pipelines_dir).resolve()),
    )
    duck = pipeline.destination.destination_name in ("duckdb", "motherduck")
    with pipeline.sql_client() as client:
        if not client.has_dataset():
            client.create_dataset()
        table = client.make_qualified_table_name(TABLE)
        columns = ", ".join(
            f'"{name}" {kind if duck or kind != "json" else "text"}'
            for name, kind in COLUMNS.items()
        )
        client.execute_sql(f"create table if not exists {table} ({columns})")
        mark = "?" if duck else "%s"
        client.execute_sql(f"delete from {table} where run_id = {mark}", record.run_id)
        names = ", ".join(f'"{name}"' for name in COLUMNS)
        marks = ", ".join(["%s"] * len(COLUMNS)) if not duck else ", ".join(["?"] * len(COLUMNS))
        client.execute_sql(f"insert into {table} ({names}) values ({marks})", *record.values())


def close(
    record: RunRecord,
    options: Any,
    stats: Any,
    outcome: str,
    error: str | None = None,
    result: Any = None,
    publish: Callable[[], Any] | None = None,
    warehouse: bool = True,
    ending: Callable[[RunRecord], str] | None = None,
) -> RunRecord:
    """Finish the record, store it in the warehouse (unless `warehouse` is False: the run does
    not hold it), then run `publish` (a failure to publish makes the run failed and its row is
    rewritten; a dict it returns adds keys to the closing line), append it to the run journal
    and print the closing line on stdout. A failure to store is one line on stderr, never a
    crash."""
    import sys

    from pipelines.warehouse import journal
    from pipelines.warehouse.destination import warehouse_file

    hidden = configured_secrets(getattr(options, "client_secret", None))
    record.finish(stats, outcome, error)
    record.client_id, record.api = who(options, result)
    load_ids = getattr(getattr(result, "load_info", None), "loads_ids", None) or []
    record.load_id = ",".join(load_ids) or None
    record = record.masked(hidden)
    if warehouse:
        _store(record, options, hidden)
    if publish is not None:
        try:
            extra = publish()
            if isinstance(extra, dict):
                record.credit.update(extra)
        except Exception as exc:  # noqa: BLE001 - the readers keep the previous build
            record.outcome = FAILED
            record.error = mask(
                f"publishing the build failed: {first_line(exc)}; readers keep the previous "
                "build and the next run publishes again (check the disk space beside it)",
                hidden,
            )
            print(f"symetrisk run failed: {record.error}", file=sys.stderr)
            _store(record, options, hidden)
    try:
        journal.append(record, options.pipelines_dir, warehouse_file(options.destination))
    except OSError as exc:
        print(f"run journal not written: {first_line(exc)}", file=sys.stderr)
    if ending is not None:
        print(ending(record))
    print(record.line(), flush=True)
    return record


def _store(record: RunRecord, options: Any, hidden: list[str]) -> None:
    import sys

    try:
        write(record, options.destination, options.dataset, options.pipelines_dir)
    except Exception as exc:  # noqa: BLE001 - the run's own outcome matters more
        if record.outcome == FAILED:
            return  # its cause is already said, and the run journal holds the record for status
        text = mask(first_line(exc), hidden)
        print(f"run history not written ({TABLE} table): {text}", file=sys.stderr)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def mask(text: str, hidden: list[str]) -> str:
    for secret in hidden:
        text = text.replace(secret, "***")
    return text


def who(options: Any, result: Any = None) -> tuple[str | None, str | None]:
    """(client id, API base URL) of the run, or the built-in sandbox's."""
    from pipelines.symetrisk.settings import SANDBOX_CLIENT_ID

    client_id, base_url = options.client_id, options.base_url
    try:
        import dlt

        client_id = client_id or dlt.config.get("sources.symetrisk.client_id")
        base_url = base_url or dlt.config.get("sources.symetrisk.base_url")
    except Exception:  # noqa: BLE001 - only for the record
        pass
    if not client_id:
        sandbox = getattr(result, "sandbox_url", None)
        return SANDBOX_CLIENT_ID, f"built-in sandbox {sandbox}" if sandbox else "built-in sandbox"
    return str(client_id), str(base_url) if base_url else None
