"""`symetrisk run` as a person types it: the built-in sandbox on a fresh checkout, bad input
refused before any request, and failures told in one line that names the setting to check."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

import pytest

from pipelines import cli
from pipelines.sandbox.server import SandboxOptions, SandboxServer
from tests.conftest import use_api


@pytest.fixture(scope="module")
def server():
    with SandboxServer(SandboxOptions(borrowers=10, months=12, seed=3), port=0) as sb:
        yield sb


def test_bad_organisation_number_is_refused_before_any_request(clean_env, capsys):
    code = cli.main(["run", "--borrowers", "810000007", "12345678X", "--no-models"])
    err = capsys.readouterr().err
    assert code == 2
    assert "'12345678X'" in err and "digits only" in err and "810000007" not in err
    assert "Traceback" not in err
    assert not (clean_env / "data").exists()  # nothing started, nothing written


@pytest.mark.e2e
def test_fresh_checkout_runs_the_sandbox_and_says_where_the_warehouse_is(clean_env, capsys):
    code = cli.main(["run", "--sandbox-borrowers", "12", "--sandbox-months", "14", "--no-models"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "no SOURCES__SYMETRISK__CLIENT_ID configured: loading the built-in sandbox" in err
    assert "accounting_snapshots" in out and "requests:" in out
    assert "warehouse: data/symetrisk.duckdb" in out
    assert (clean_env / "data" / "symetrisk.duckdb").exists()
    assert (clean_env / "data" / "dlt").is_dir()
    # the query the summary suggests works as printed
    hint = next(line for line in out.splitlines() if line.startswith("query it: "))
    command = shlex.split(hint.removeprefix("query it: "))
    assert command[1:3] == ["sql", "--destination"] and command[3] == "data/symetrisk.duckdb"
    assert cli.main(command[1:]) == 0
    assert "newest" in capsys.readouterr().out


@pytest.mark.e2e
def test_a_clean_run_writes_only_our_own_lines_to_stderr(clean_env):
    """A nightly log holds what the run says, not library warnings: a clean sandbox run (its own
    process, as cron starts it) twice, the second incremental, with dlt's log at its default."""
    args = [sys.executable, "-m", "pipelines.cli", "run", "--quiet", "--no-models"]
    args += ["--sandbox-borrowers", "8", "--sandbox-months", "14"]
    for _ in range(2):
        run = subprocess.run(
            args, capture_output=True, text=True, env=dict(os.environ), timeout=300
        )
        assert run.returncode == 0, run.stderr
        lines = [line for line in run.stderr.splitlines() if line.strip()]
        strange = [line for line in lines if "WARNING" in line or "|dlt|" in line]
        assert not strange, strange
        assert "Traceback" not in run.stderr


@pytest.mark.e2e
def test_wrong_secret_names_the_credentials_settings(clean_env, capsys, monkeypatch, server):
    use_api(monkeypatch, server.base_url, CLIENT_SECRET="not-the-secret-4711")
    code = cli.main(["run", "--quiet", "--no-models"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "SOURCES__SYMETRISK__CLIENT_ID" in err and "SOURCES__SYMETRISK__CLIENT_SECRET" in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err + out
    assert "not-the-secret-4711" not in err + out


@pytest.mark.e2e
def test_wrong_token_url_names_the_token_url_setting(clean_env, capsys, monkeypatch, server):
    use_api(monkeypatch, server.base_url, TOKEN_URL=server.base_url + "/no/such/token")
    code = cli.main(["run", "--quiet", "--no-models"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "SOURCES__SYMETRISK__TOKEN_URL" in err
    assert "Traceback" not in err + out
    assert "demo-bank-secret" not in err + out


@pytest.mark.slow
@pytest.mark.e2e
def test_configured_api_loads_and_builds_models(clean_env, capsys, monkeypatch, server):
    use_api(monkeypatch, server.base_url)
    code = cli.main(["run"])
    out, err = capsys.readouterr()
    assert code == 0, err + out
    assert "built-in sandbox" not in err
    assert "models:" in out
    assert "building models " in err  # progress through the dbt build
    assert out.splitlines()[-2].startswith("symetrisk run done in ")


@pytest.mark.e2e
def test_quiet_prints_only_the_final_line(clean_env, capsys):
    code = cli.main(["run", "--sandbox-borrowers", "6", "--sandbox-months", "6", "--quiet"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert err == ""  # no banner, informational notes or progress
    assert len(out.splitlines()) == 1 and out.startswith("symetrisk-run ts=")
    assert "outcome=ok" in out
