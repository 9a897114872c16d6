"""Real network parts for the trust, proxy and phone-home tests: a certificate authority and
certificates made with trustme (a good one, one for another host, an expired one), a sandbox
served over TLS by uvicorn, and proxy.py as a real forward proxy in a subprocess (plain or TLS,
with or without basic auth) that records every request it forwards."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trustme

from pipelines.sandbox.server import SandboxOptions, SandboxServer

ROOT = Path(__file__).resolve().parents[2]
RECORD_ENV = "SYMETRISK_TEST_PROXY_RECORD"


@dataclass
class Pki:
    """One CA (ca.pem, and a hashed directory of it) and its server certificates as files."""

    dir: Path
    ca: trustme.CA

    @property
    def ca_file(self) -> str:
        return str(self.dir / "ca.pem")

    @property
    def ca_dir(self) -> str:
        """A directory as SSL_CERT_DIR names one: the CA under its OpenSSL subject hash."""
        return str(self.dir / "ca-dir")

    def cert(self, name: str, *hosts: str, expired: bool = False) -> str:
        """A PEM file with the key and chain of a certificate for `hosts`."""
        now = dt.datetime.now(dt.timezone.utc)
        window = (
            {"not_before": now - dt.timedelta(days=30), "not_after": now - dt.timedelta(days=1)}
            if expired
            else {}
        )
        leaf = self.ca.issue_cert(*hosts, **window)
        path = self.dir / f"{name}.pem"
        leaf.private_key_and_cert_chain_pem.write_to_path(str(path))
        return str(path)


def make_pki(directory: Path) -> Pki:
    directory.mkdir(parents=True, exist_ok=True)
    pki = Pki(directory, trustme.CA())
    pki.ca.cert_pem.write_to_path(pki.ca_file)
    hashed = Path(pki.ca_dir)
    hashed.mkdir(exist_ok=True)
    subject_hash = subprocess.run(
        ["openssl", "x509", "-noout", "-subject_hash", "-in", pki.ca_file],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (hashed / f"{subject_hash}.0").write_bytes(Path(pki.ca_file).read_bytes())
    return pki


@contextlib.contextmanager
def tls_sandbox(certfile: str, url_host: str = "127.0.0.1", **options) -> Iterator[SandboxServer]:
    defaults = {"borrowers": 12, "months": 6, "as_of": dt.date(2026, 3, 31)}
    with SandboxServer(
        SandboxOptions(**{**defaults, **options}), certfile=certfile, url_host=url_host
    ) as server:
        yield server


@dataclass
class Proxy:
    url: str  # with the credentials, as HTTPS_PROXY takes it
    record: Path

    def seen(self) -> list[str]:
        """'CONNECT host:port' or 'GET host:port' per request forwarded, in order."""
        if not self.record.exists():
            return []
        return [line for line in self.record.read_text().splitlines() if line]

    def hosts(self) -> set[str]:
        return {line.split(" ", 1)[1] for line in self.seen()}


@contextlib.contextmanager
def forward_proxy(
    work: Path, auth: str | None = None, certfile: str | None = None
) -> Iterator[Proxy]:
    """proxy.py on a free 127.0.0.1 port; `auth` "user:password" asks for basic auth;
    `certfile` (key and chain in one PEM) makes it an HTTPS proxy (TLS from client to proxy)."""
    work.mkdir(parents=True, exist_ok=True)
    port_file, record = work / "proxy.port", work / "proxy.record"
    command = [
        sys.executable,
        "-m",
        "proxy",
        "--hostname",
        "127.0.0.1",
        "--port",
        "0",
        "--port-file",
        str(port_file),
        "--num-acceptors",
        "1",
        "--threaded",
        "--log-level",
        "ERROR",
        "--plugins",
        "tests.e2e.proxy_recorder.Recorder",
    ]
    if auth:
        command += ["--basic-auth", auth]
    if certfile:
        command += ["--cert-file", certfile, "--key-file", certfile]
    env = {**os.environ, RECORD_ENV: str(record), "PYTHONPATH": str(ROOT)}
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy"):
        env.pop(name, None)
    process = subprocess.Popen(
        command, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"proxy.py did not start: {process.stderr.read().decode()}")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        scheme = "https" if certfile else "http"
        credentials = f"{auth}@" if auth else ""
        yield Proxy(f"{scheme}://{credentials}127.0.0.1:{port}", record)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()


def load(server, tmp_path, stats: Any) -> None:
    """A full load of `server` as demo-bank into a new DuckDB file, without the models."""
    from pipelines.cli.run import LoadOptions, run_load
    from pipelines.sandbox.app import TOKEN_PATH

    run_load(
        LoadOptions(
            destination=str(tmp_path / "w.duckdb"),
            pipelines_dir=str(tmp_path / "dlt"),
            base_url=server.api_url,
            token_url=server.base_url + TOKEN_PATH,
            client_id="demo-bank",
            client_secret="demo-bank-secret",
            models=False,
            progress=False,
        ),
        stats=stats,
    )
