"""Helpers shared by the end-to-end tests: a sandbox on a free port, loading it into a DuckDB
file under a test's tmp dir, the API's own answers (the truth), and comparing warehouses."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import requests

from pipelines.cli.run import LoadOptions, run_load
from pipelines.sandbox.server import SandboxOptions, SandboxServer
from pipelines.symetrisk import RunStats, settings

DATASET = settings.DATASET_NAME
# columns whose value depends on when or in which load a row was written, not on the API
VOLATILE_COLUMNS = ("first_seen_at", "fetched_at")
NOT_FROM_THE_API = ("runs",)  # issue 8's run history lives in the same dataset


def sandbox(**kw: Any) -> SandboxServer:
    options = {"borrowers": 30, "months": 30, "seed": 7, **kw}
    return SandboxServer(SandboxOptions(**options), host="127.0.0.1", port=0)


class Api:
    """The truth, read straight from the sandbox with plain requests."""

    def __init__(self, sb: SandboxServer, client_id: str = "demo-bank") -> None:
        self.sb = sb
        self.client_id = client_id

    def get(self, path: str, **params: Any) -> Any:
        headers = self.sb.headers(self.client_id)  # a fresh token: some tests expire them
        answer = requests.get(self.sb.api_url + path, headers=headers, params=params)
        answer.raise_for_status()
        return answer.json()

    def all(self, path: str) -> list[dict[str, Any]]:
        items, skip = [], 0
        while True:
            page = self.get(path, limit=100, skip=skip)
            items += page["items"]
            skip += len(page["items"])
            if not page["items"] or skip >= page["metadata"]["totalItems"]:
                return items

    def relationships(self) -> list[dict[str, Any]]:
        return self.all(settings.RELATIONSHIPS)

    def approved(self) -> list[str]:
        return [
            r["organization_number"]
            for r in self.relationships()
            if r["relationship_state"] == settings.APPROVED
        ]

    def snapshots(self, org: str) -> list[dict[str, Any]]:
        return self.all(settings.ACCOUNTING_DATA.format(organization_number=org))


def admin(sb: SandboxServer, path: str, method: str = "POST", **body: Any) -> Any:
    answer = requests.request(method, sb.base_url + "/sandbox" + path, json=body or None)
    answer.raise_for_status()
    return answer.json()


def load(sb: SandboxServer, tmp_path: Path, **kw: Any) -> RunStats:
    stats = RunStats()
    out = kw.pop("out", None) or io.StringIO()
    options = LoadOptions(
        destination=str(tmp_path / "warehouse.duckdb"),
        pipelines_dir=str(tmp_path / "dlt"),
        base_url=sb.api_url,
        token_url=sb.token_url,
        client_id=kw.pop("client_id", "demo-bank"),
        client_secret=kw.pop("client_secret", "demo-bank-secret"),
        models=False,
        progress=False,
        **kw,
    )
    run_load(options, stats=stats, out=out)
    return stats


def query(tmp_path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def flat(item: dict[str, Any]) -> dict[str, Any]:
    """The contract's flattening, written independently of the loader."""
    out = {k: v for k, v in item.items() if k != "data"}

    def walk(value: Any, prefix: str) -> None:
        for key, inner in value.items():
            name = f"{prefix}__{key}" if prefix else key
            if isinstance(inner, dict):
                walk(inner, name)
            else:
                out[name] = inner

    walk(item["data"], "")
    return out


def normal(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def assert_snapshots_equal_api(api: Api, tmp_path: Path, orgs: list[str]) -> int:
    """Every snapshot of `orgs` in the warehouse equals the API's, field by field."""
    columns = [
        r[0]
        for r in query(
            tmp_path,
            "select column_name from information_schema.columns where table_schema = "
            "'symetrisk_raw' and table_name = 'accounting_snapshots'",
        )
    ]
    compared = 0
    for org in orgs:
        rows = query(
            tmp_path,
            f"select {', '.join(columns)} from symetrisk_raw.accounting_snapshots "
            f"where organization_number = '{org}' order by snapshot_date desc",
        )
        stored = [dict(zip(columns, map(normal, row), strict=True)) for row in rows]
        truth = [flat(item) for item in api.snapshots(org)]
        assert len(stored) == len(truth), org
        for want, got in zip(truth, stored, strict=True):
            for key, value in want.items():
                assert got[key] == value, (org, want["snapshot_date"], key)
            compared += 1
    return compared


def count(tmp_path: Path, table: str, where: str = "") -> int:
    sql = f"select count(*) from symetrisk_raw.{table} {where}"
    return query(tmp_path, sql)[0][0]


def dump(database: Path, dataset: str = DATASET) -> dict[str, list[tuple]]:
    """Every API-derived table of a warehouse: its columns (sorted) and its rows as a sorted
    list, without dlt's bookkeeping columns and the VOLATILE_COLUMNS. Two loads of identical
    sandboxes give equal dumps; a lost or doubled row makes them differ."""
    out: dict[str, list[tuple]] = {}
    with duckdb.connect(str(database), read_only=True) as con:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = ? "
                "order by 1",
                [dataset],
            ).fetchall()
            if not r[0].startswith("_dlt") and r[0] not in NOT_FROM_THE_API
        ]
        for table in tables:
            columns = sorted(
                r[0]
                for r in con.execute(
                    "select column_name from information_schema.columns where table_schema = ? "
                    "and table_name = ?",
                    [dataset, table],
                ).fetchall()
                if not r[0].startswith("_dlt") and r[0] not in VOLATILE_COLUMNS
            )
            quoted = ", ".join(f'"{c}"' for c in columns)
            rows = con.execute(f'select {quoted} from "{dataset}"."{table}"').fetchall()
            out[table] = [tuple(columns), *sorted(rows, key=repr)]
    return out


def assert_same_warehouse(got: Path, want: Path) -> int:
    """The warehouse `got` equals `want` table by table, row by row, value by value; returns
    the number of rows compared."""
    mine, theirs = dump(got), dump(want)
    assert sorted(mine) == sorted(theirs), "the tables differ"
    compared = 0
    for table, rows in theirs.items():
        assert mine[table][0] == rows[0], f"{table}: the columns differ"
        assert len(mine[table]) == len(rows), (
            f"{table}: {len(mine[table]) - 1} rows, want {len(rows) - 1}"
        )
        for index, (a, b) in enumerate(zip(mine[table][1:], rows[1:], strict=True)):
            assert a == b, f"{table} row {index}: {a} != {b}"
        compared += len(rows) - 1
    return compared


# --- `symetrisk run` as a separate process ------------------------------------------------------

FAST_RETRIES = {"SOURCES__SYMETRISK__BACKOFF_FACTOR": "0.05"}


def cli_env(sb: SandboxServer, work: Path, **extra: str) -> dict[str, str]:
    """The environment of a `symetrisk run` against `sb`, writing only under `work`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "SYMETRISK_"))}
    return {
        **env,
        "SOURCES__SYMETRISK__BASE_URL": sb.api_url,
        "SOURCES__SYMETRISK__TOKEN_URL": sb.token_url,
        "SOURCES__SYMETRISK__CLIENT_ID": "demo-bank",
        "SOURCES__SYMETRISK__CLIENT_SECRET": "demo-bank-secret",
        "DESTINATION__DUCKDB__CREDENTIALS": str(work / "warehouse.duckdb"),
        "SYMETRISK_PIPELINES_DIR": str(work / "dlt"),
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        **FAST_RETRIES,
        **extra,
    }


def symetrisk_run(
    sb: SandboxServer, work: Path, *args: str, wait: bool = True, **env: str
) -> subprocess.CompletedProcess | subprocess.Popen:
    """`symetrisk run --quiet --no-models ARGS` in a new process, in `work`."""
    work.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pipelines.cli", "run", "--quiet", "--no-models", *args]
    if not wait:
        return subprocess.Popen(
            command,
            env=cli_env(sb, work, **env),
            cwd=work,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    return subprocess.run(
        command, env=cli_env(sb, work, **env), cwd=work, capture_output=True, text=True, timeout=120
    )


# --- dlt state ----------------------------------------------------------------------------------


def borrower_state(state: dict[str, Any] | None) -> dict[str, str]:
    """organization_number -> newest snapshot_date, from a pipeline state."""
    resources = ((state or {}).get("sources") or {}).get("symetrisk", {}).get("resources", {})
    borrowers = resources.get("accounting_snapshots", {}).get("borrowers", {})
    return {org: s["n"] for org, s in borrowers.items() if s.get("n")}


def local_state(work: Path) -> dict[str, Any] | None:
    path = work / "dlt" / settings.PIPELINE_NAME / "state.json"
    return json.loads(path.read_text()) if path.exists() else None


def warehouse_state(work: Path) -> dict[str, Any] | None:
    """The newest pipeline state stored in the warehouse by a completed load (what dlt
    restores when the working dir is lost)."""
    from dlt.common.versioned_state import decompress_state

    database = work / "warehouse.duckdb"
    if not database.exists():
        return None
    with duckdb.connect(str(database), read_only=True) as con:
        tables = {
            r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()
        }
        if "_dlt_pipeline_state" not in tables:
            return None
        row = con.execute(
            f"select s.state from {DATASET}._dlt_pipeline_state s join {DATASET}._dlt_loads l "
            "on l.load_id = s._dlt_load_id where l.status = 0 order by l.load_id desc limit 1"
        ).fetchone()
    return decompress_state(row[0]) if row else None


def newest_landed(work: Path) -> dict[str, str]:
    """organization_number -> newest snapshot_date in the warehouse."""
    database = work / "warehouse.duckdb"
    if not database.exists():
        return {}
    with duckdb.connect(str(database), read_only=True) as con:
        tables = {
            r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()
        }
        if "accounting_snapshots" not in tables:
            return {}
        rows = con.execute(
            f"select organization_number, max(snapshot_date)::varchar "
            f"from {DATASET}.accounting_snapshots group by 1"
        ).fetchall()
    return dict(rows)


def state_ahead_of_data(state: dict[str, Any] | None, work: Path) -> dict[str, str]:
    """Borrowers whose state says a month was loaded that is not in the warehouse."""
    landed = newest_landed(work)
    return {org: n for org, n in borrower_state(state).items() if landed.get(org, "") < n}


def run_in_process(
    monkeypatch: Any, capsys: Any, sb: SandboxServer, work: Path, *args: str, **settings_: str
) -> tuple[int, str, str]:
    """`symetrisk run --no-models ARGS` in this process against `sb`, working in `work`
    with the warehouse `work/warehouse.duckdb`; `settings_` override SOURCES__SYMETRISK__*.
    Returns (exit code, stdout, stderr)."""
    from pipelines import cli
    from tests.conftest import use_api

    use_api(monkeypatch, sb.base_url, **settings_)
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(work / "warehouse.duckdb"))
    monkeypatch.chdir(work)
    code = cli.main(["run", "--no-models", *args])  # not --quiet: tests read the summary
    out, err = capsys.readouterr()
    return code, out, err
