"""Nothing phones home: `symetrisk run`, models included, started as cron would (from another
directory, no .dlt/ there), with a recording forward proxy as its only way out, connects to no
host but the API's; and dlt resolves its telemetry as off once the package is imported, on
without it (dlt's default), on again when the user opts in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.sandbox.app import TOKEN_PATH
from pipelines.symetrisk.trust import CA_VARIABLES
from tests.e2e.netkit import forward_proxy, make_pki, tls_sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SYMETRISK = str(Path(sys.executable).with_name("symetrisk"))
PHONE_HOME = ("RUNTIME__DLTHUB_TELEMETRY", "DBT_SEND_ANONYMOUS_USAGE_STATS", "DO_NOT_TRACK")


def run_through_proxy(tmp_path: Path, server, proxy, ca_file: str, **extra: str):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in CA_VARIABLES
        and k not in PHONE_HOME
        and not k.lower().endswith("_proxy")
        and not k.startswith(("SOURCES__", "DESTINATION__", "RUNTIME__"))
    }
    env.update(
        HTTPS_PROXY=proxy.url,
        HTTP_PROXY=proxy.url,
        NO_PROXY="",
        SSL_CERT_FILE=ca_file,
        SOURCES__SYMETRISK__BASE_URL=server.api_url,
        SOURCES__SYMETRISK__TOKEN_URL=server.base_url + TOKEN_PATH,
        SOURCES__SYMETRISK__CLIENT_ID="demo-bank",
        SOURCES__SYMETRISK__CLIENT_SECRET="demo-bank-secret",
        HOME=str(tmp_path / "home"),
        **extra,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    return subprocess.run(
        [SYMETRISK, "run", "--quiet"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_run_from_another_directory_connects_only_to_the_api(tmp_path):
    pki = make_pki(tmp_path / "pki")
    with (
        tls_sandbox(pki.cert("api", "127.0.0.1"), borrowers=6, months=4) as server,
        forward_proxy(tmp_path / "proxy") as proxy,
    ):
        done = run_through_proxy(tmp_path, server, proxy, pki.ca_file)
        assert done.returncode == 0, done.stderr
        assert proxy.hosts() == {f"127.0.0.1:{server.port}"}
        assert all(line.startswith("CONNECT ") for line in proxy.seen())
        assert "models" in done.stdout + done.stderr or "symetrisk-run" in done.stdout


RESOLVED = (
    "from dlt.common.configuration import resolve_configuration\n"
    "from dlt.common.configuration.specs import RuntimeConfiguration\n"
    "print(resolve_configuration(RuntimeConfiguration()).dlthub_telemetry)"
)


@pytest.mark.parametrize(
    ("prelude", "env", "expected"),
    [
        ("import pipelines\n", {}, "False"),  # our package first: off
        ("", {}, "True"),  # dlt alone, outside the project: dlt's default is on
        ("import pipelines\n", {"RUNTIME__DLTHUB_TELEMETRY": "true"}, "True"),  # opted in
    ],
)
def test_dlt_telemetry_is_off_in_code_unless_opted_in(tmp_path, prelude, env, expected):
    clean = {k: v for k, v in os.environ.items() if k not in PHONE_HOME}
    done = subprocess.run(
        [sys.executable, "-c", prelude + RESOLVED],
        cwd=tmp_path,
        env={**clean, "HOME": str(tmp_path), "PYTHONPATH": str(Path(__file__).parents[2]), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.strip().splitlines()[-1] == expected, done.stderr
