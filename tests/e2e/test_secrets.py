"""The client secret and the access tokens never appear in output, logs, error messages, the
warehouse or dlt's working dir: loads that succeed and loads that fail, with --debug and dlt's
debug log, then a search of everything they left for every token the sandbox issued them."""

from __future__ import annotations

import base64
import gzip
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from pipelines.sandbox.tenants import TokenError
from tests.warehouse_checks import admin, sandbox, symetrisk_run

pytestmark = pytest.mark.e2e

SECRET = "demo-bank-secret"
DEBUG = {"RUNTIME__LOG_LEVEL": "DEBUG"}


@pytest.mark.slow
def test_no_secret_or_token_in_output_logs_errors_warehouse_or_working_dir(tmp_path):
    outputs: list[str] = []
    with sandbox(borrowers=8, months=12) as sb:
        tokens = sb.sandbox.tokens
        issued: list[str] = []
        issue = tokens.issue

        def recording_issue(client, scopes):
            token, ttl = issue(client, scopes)
            issued.append(token)
            return token, ttl

        tokens.issue = recording_issue
        runs = [symetrisk_run(sb, tmp_path, "--debug", **DEBUG)]  # succeeds
        admin(sb, "/advance-month")
        admin(sb, "/faults", error_rate=1.0)  # fails on 5xx, with the traceback (--debug)
        runs.append(symetrisk_run(sb, tmp_path, "--debug", SOURCES__SYMETRISK__MAX_ATTEMPTS="2",
                                  **DEBUG))  # fmt: skip
        admin(sb, "/faults", error_rate=0.0)
        check = tokens.check

        def refuse(token):
            raise TokenError("the access token is not valid")

        tokens.check = refuse  # the API refuses every token: a failure naming the credentials
        runs.append(symetrisk_run(sb, tmp_path, "--debug", **DEBUG))
        tokens.check = check
        runs.append(symetrisk_run(sb, tmp_path, "--debug", SOURCES__SYMETRISK__CLIENT_SECRET="x"))
    assert "DEBUG" in runs[0].stderr  # dlt's debug log was on, and is searched
    assert [r.returncode for r in runs] == [0, 1, 1, 1], [r.stderr for r in runs]
    assert "Traceback" in runs[1].stderr  # --debug shows it, and it too is searched
    assert len(issued) >= 3
    for run in runs:
        outputs += [run.stdout, run.stderr]
    basic = base64.b64encode(f"demo-bank:{SECRET}".encode()).decode()
    needles = [SECRET, basic, *issued]
    texts = {f"output {i}": text for i, text in enumerate(outputs)}
    texts |= warehouse_texts(tmp_path / "warehouse.duckdb")
    texts |= working_dir_texts(tmp_path)
    assert any("snapshot_date" in t for t in texts.values())  # the search saw real content
    leaks = [(where, n[:12]) for where, text in texts.items() for n in needles if n in text]
    assert not leaks


def warehouse_texts(database: Path) -> dict[str, str]:
    """Every text column of every table, as one text per table."""
    texts = {}
    with duckdb.connect(str(database), read_only=True) as con:
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type in ('VARCHAR', 'JSON') or data_type like '%[]' "
            "or data_type like 'STRUCT%' or data_type like 'MAP%'"
        ).fetchall()
        for schema, table, column in columns:
            values = con.execute(f'select "{column}"::varchar from "{schema}"."{table}"').fetchall()
            texts[f"{schema}.{table}.{column}"] = "\n".join(str(v[0]) for v in values)
    assert any(k.endswith("accounting_snapshots.organization_number") for k in texts)
    return texts


def working_dir_texts(work: Path) -> dict[str, str]:
    """Every file under the run's directory (dlt's working dir, lock files, logs): parquet
    read as tables, gzip unpacked, anything else as bytes."""
    texts = {}
    for path in work.rglob("*"):
        if not path.is_file() or path.suffix in (".duckdb", ".wal"):
            continue
        if path.suffix == ".parquet":
            text = str(pq.read_table(path).to_pylist())
        elif path.suffix == ".gz":
            text = gzip.decompress(path.read_bytes()).decode(errors="replace")
        else:
            text = path.read_bytes().decode(errors="replace")
        texts[str(path.relative_to(work))] = text
    return texts
