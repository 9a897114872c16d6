"""Shared fixtures: a real sandbox server over HTTP on a free port.

- `sandbox_server` (session): a default sandbox that tests must only read from. Tests that
  change state (consent, the clock, faults, tokens) start their own with `start_sandbox`.
- `start_sandbox(**options)`: a context manager for a sandbox with any `SandboxOptions`.
- `bank`: a requests.Session authenticated as demo-bank against `sandbox_server`.
- `fetch_all(session, url)`: every item of a paged list endpoint.
- `clean_env`: no Symetrisk or destination settings in the environment, cwd an empty folder.
- `use_api(monkeypatch, base_url, **settings)`: `symetrisk`'s settings pointed at a sandbox.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import date

import pytest
import requests

from pipelines.sandbox.app import API_PREFIX, TOKEN_PATH
from pipelines.sandbox.server import SandboxOptions, SandboxServer
from pipelines.sandbox.tenants import CLIENTS

AS_OF = date(2026, 3, 31)
DEFAULTS = {"borrowers": 40, "months": 24, "seed": 42, "as_of": AS_OF}


@contextlib.contextmanager
def start_sandbox(**options) -> Iterator[SandboxServer]:
    with SandboxServer(SandboxOptions(**{**DEFAULTS, **options})) as server:
        yield server


def session_for(server: SandboxServer, client_id: str = "demo-bank", scope: str | None = None):
    session = requests.Session()
    session.headers.update(server.headers(client_id, scope))
    return session


def fetch_all(session: requests.Session, url: str, limit: int = 100) -> list[dict]:
    items: list[dict] = []
    while True:
        answer = session.get(url, params={"limit": limit, "skip": len(items)}, timeout=30)
        answer.raise_for_status()
        page = answer.json()
        items += page["items"]
        if not page["items"] or len(items) >= page["metadata"]["totalItems"]:
            return items


def use_api(monkeypatch, base_url: str, **settings: str) -> None:
    """Point SOURCES__SYMETRISK__* at the sandbox at `base_url` as demo-bank; `settings` override
    any of them by name (CLIENT_ID="demo-scorer", CLIENT_SECRET="wrong", BACKOFF_FACTOR="0.01").
    A demo client's own secret goes with its id unless CLIENT_SECRET is given."""
    values = {
        "BASE_URL": base_url + API_PREFIX,
        "TOKEN_URL": base_url + TOKEN_PATH,
        "CLIENT_ID": "demo-bank",
        **settings,
    }
    if "CLIENT_SECRET" not in values:
        values["CLIENT_SECRET"] = CLIENTS[values["CLIENT_ID"]].secret
    for name, value in values.items():
        monkeypatch.setenv(f"SOURCES__SYMETRISK__{name}", value)


SETTINGS = (
    "SOURCES__SYMETRISK__BASE_URL",
    "SOURCES__SYMETRISK__TOKEN_URL",
    "SOURCES__SYMETRISK__CLIENT_ID",
    "SOURCES__SYMETRISK__CLIENT_SECRET",
    "DESTINATION__DUCKDB__CREDENTIALS",
    "SYMETRISK_DESTINATION",
)


@pytest.fixture(autouse=True, scope="session")
def _dbt_out_of_the_users_way(tmp_path_factory):
    """dbt's working dirs (pipelines/warehouse/dbt_build.py) under the session's temp dir, and
    no destination chosen by the developer's shell for the in-process commands."""
    os.environ.pop("SYMETRISK_DESTINATION", None)
    os.environ.setdefault("SYMETRISK_DBT_DIR", str(tmp_path_factory.mktemp("dbt")))


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """A new user's shell: no Symetrisk or destination settings, working in an empty folder."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    with start_sandbox() as server:
        yield server


@pytest.fixture(name="start_sandbox")
def start_sandbox_fixture():
    return start_sandbox


@pytest.fixture(scope="session")
def bank(sandbox_server: SandboxServer) -> Iterator[requests.Session]:
    with session_for(sandbox_server) as session:
        yield session


@pytest.fixture(scope="session")
def relationships(sandbox_server: SandboxServer, bank: requests.Session) -> list[dict]:
    return fetch_all(bank, sandbox_server.api_url + "/relationships")


@pytest.fixture(scope="session")
def approved(relationships: list[dict]) -> list[str]:
    return [
        r["organization_number"]
        for r in relationships
        if r["relationship_state"] == "access_approved"
    ]
