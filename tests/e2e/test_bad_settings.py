"""Wrong settings and refused access: one line naming the setting to check, a non-zero exit, no
traceback, no secret. (Wrong secret and a token URL that is not a token endpoint are in
tests/cli/test_run.py.) An expired token is renewed without a word."""

from __future__ import annotations

import socket
import threading

import pytest

from pipelines.sandbox.tenants import TokenError
from pipelines.symetrisk import settings
from pipelines.symetrisk.client import Api as Client
from pipelines.symetrisk.errors import SymetriskConfigError
from tests.warehouse_checks import Api, admin, assert_snapshots_equal_api, run_in_process, sandbox

pytestmark = pytest.mark.e2e

SECRET = "demo-bank-secret"


@pytest.fixture(scope="module")
def sb():
    with sandbox(borrowers=8, months=12) as server:
        yield server


@pytest.fixture
def run(monkeypatch, tmp_path, capsys, sb):
    """`symetrisk run` in this process against `sb`, with settings overridden."""

    def run(*args: str, **env: str) -> tuple[int, str, str]:
        settings = {"CLIENT_SECRET": SECRET, "BACKOFF_FACTOR": "0.01", **env}
        return run_in_process(monkeypatch, capsys, sb, tmp_path, *args, **settings)

    return run


def closed_port_url(path: str) -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"CLIENT_ID": "no-such-client"}, ["CLIENT_ID", "CLIENT_SECRET"]),
        ({"BASE_URL": "{base}/api/v2"}, ["BASE_URL"]),
        ({"BASE_URL": "closed:/api/v1", "MAX_ATTEMPTS": "2"}, ["BASE_URL"]),
        ({"TOKEN_URL": "closed:/oauth2/token"}, ["TOKEN_URL"]),
        (
            {
                "CLIENT_ID": "demo-bank-readonly",
                "CLIENT_SECRET": "demo-bank-readonly-secret",
                "SCOPE": settings.WRITE_SCOPE,
            },
            ["SCOPE", "CLIENT_ID"],
        ),
    ],  # fmt: skip
    ids=[
        "unknown-client",
        "wrong-base-url",
        "unreachable-api",
        "unreachable-token-url",
        "scope-not-allowed",
    ],  # fmt: skip
)
def test_wrong_setting_is_one_line_naming_it(run, sb, env, named):
    for name, value in env.items():
        value = value.replace("{base}", sb.base_url)
        env[name] = closed_port_url(value[7:]) if value.startswith("closed:") else value
    code, out, err = run(**env)
    assert code == 1
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("symetrisk run failed: ")
    for setting in named:
        assert f"SOURCES__SYMETRISK__{setting}" in err, err
    assert "Traceback" not in out + err
    assert SECRET not in out + err and "readonly-secret" not in out + err


def test_expired_tokens_are_renewed_without_a_word(tmp_path, run):
    with sandbox(borrowers=12, months=12, latency_ms=30) as server:
        done = threading.Event()

        def expire_tokens() -> None:
            while not done.wait(0.2):
                admin(server, "/tokens/expire")

        expirer = threading.Thread(target=expire_tokens, daemon=True)
        expirer.start()
        try:
            code, out, err = run(
                "--concurrency", "2", "--destination", "warehouse.duckdb",
                BASE_URL=server.api_url, TOKEN_URL=server.token_url,
            )  # fmt: skip
        finally:
            done.set()
            expirer.join()
        seen = admin(server, "/requests", "GET")["by_endpoint"]
        api = Api(server)
        assert code == 0, err
        assert "failed" not in err
        assert sum(counts.get("401", 0) for counts in seen.values()) >= 1
        assert seen["POST /oauth2/token"]["200"] > 1
        assert assert_snapshots_equal_api(api, tmp_path, api.approved()) > 0


def test_token_refused_after_renewal_mid_run_names_the_credentials(run, sb, monkeypatch):
    """The token endpoint still issues tokens but the API stops taking them (access withdrawn
    while the run goes on): one renewal, then one line naming the credentials."""
    tokens = sb.sandbox.tokens
    check, calls = tokens.check, []

    def refuse_after_self(token: str):
        calls.append(token)
        if len(calls) > 1:
            raise TokenError("the access token is not valid")
        return check(token)

    monkeypatch.setattr(tokens, "check", refuse_after_self)
    code, out, err = run()
    assert code == 1
    last = err.strip().splitlines()[-1]
    assert err.count("failed") == 1 and last.startswith("symetrisk run failed: "), err
    assert "refused a freshly issued token" in last
    for setting in ("CLIENT_ID", "CLIENT_SECRET", "TOKEN_URL"):
        assert f"SOURCES__SYMETRISK__{setting}" in err
    assert "Traceback" not in out + err


def test_write_without_the_write_scope_names_the_scope_setting(sb):
    """For the write commands (request access): a token without the write scope."""
    api = Client(sb.api_url, sb.token_url, "demo-bank", SECRET, scope=settings.READ_SCOPE)
    orgs = [r["organization_number"] for r in Api(sb).relationships()][:1]
    with pytest.raises(SymetriskConfigError) as refused:
        api.post(settings.REQUEST_ACCESS, {"borrowers": orgs})
    message = str(refused.value)
    assert settings.WRITE_SCOPE in message
    assert settings.SETTING_CLIENT_ID in message and settings.SETTING_CLIENT_SECRET in message
    assert SECRET not in message
