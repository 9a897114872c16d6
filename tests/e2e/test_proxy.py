"""A bank's proxy, for real: proxy.py as the forward proxy, started by the test. Every request of
a run goes through it (the token call, the GETs), NO_PROXY bypasses it, an HTTPS proxy (TLS to
the proxy) works with the bank's CA, a proxy with basic auth works with the credentials in
HTTPS_PROXY, and a wrong password is named as a proxy error without the password."""

from __future__ import annotations

import pytest

from pipelines.sandbox.app import TOKEN_PATH
from pipelines.symetrisk import settings
from pipelines.symetrisk.client import Api
from pipelines.symetrisk.errors import SymetriskConfigError
from pipelines.symetrisk.netfailures import ProxyFailure
from pipelines.symetrisk.stats import RunStats
from pipelines.symetrisk.trust import CA_VARIABLES
from tests.conftest import start_sandbox
from tests.e2e.netkit import forward_proxy, load, make_pki, tls_sandbox

pytestmark = pytest.mark.e2e
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(autouse=True)
def clean_network_env(monkeypatch):
    for name in (*CA_VARIABLES, *PROXY_VARIABLES):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def served(server) -> int:
    return server.app.state.log.total


def test_every_request_of_a_run_goes_through_the_proxy(tmp_path, monkeypatch):
    with start_sandbox(borrowers=8, months=4) as server, forward_proxy(tmp_path / "p") as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "")
        stats = RunStats()
        load(server, tmp_path, stats)
        total = served(server)
    forwarded = proxy.seen()
    host = f"{server.host}:{server.port}"
    assert stats.requests > 10
    # plain HTTP through a proxy: the proxy forwards each request, and saw every one the
    # sandbox answered (the token call included), all to the API's host
    assert len(forwarded) == total
    assert proxy.hosts() == {host}
    assert {line.split(" ")[0] for line in forwarded} == {"GET", "POST"}


def test_no_proxy_bypasses_the_proxy(tmp_path, monkeypatch):
    with start_sandbox(borrowers=4, months=3) as server, forward_proxy(tmp_path / "p") as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        stats = RunStats()
        load(server, tmp_path, stats)
        total = served(server)
    assert total > 5 and stats.rows["accounting_snapshots"]["new"] > 0
    assert proxy.seen() == []


def test_an_https_proxy_with_basic_auth_and_the_banks_ca(pki, tmp_path, monkeypatch):
    good = pki.cert("good", "127.0.0.1", "localhost")
    monkeypatch.setenv("SSL_CERT_FILE", pki.ca_file)
    with (
        tls_sandbox(good) as server,
        forward_proxy(tmp_path / "p", auth="bank:pr0xy-pass", certfile=good) as proxy,
    ):
        assert proxy.url.startswith("https://bank:pr0xy-pass@")
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        stats = RunStats()
        load(server, tmp_path, stats)
        api = Api(server.api_url, server.base_url + TOKEN_PATH, "demo-bank", "demo-bank-secret",
                  scope=f"{settings.READ_SCOPE} {settings.WRITE_SCOPE}")  # fmt: skip
        try:
            api.post(settings.REQUEST_ACCESS, {"borrowers": [{"organization_number": "810000007"}]})
        finally:
            api.close()
    assert stats.rows["accounting_snapshots"]["new"] > 0
    assert proxy.hosts() == {f"127.0.0.1:{server.port}"}
    assert {line.split(" ")[0] for line in proxy.seen()} == {"CONNECT"}


@pytest.mark.parametrize("credentials", ["bank:wrong-pass", None])
def test_a_wrong_proxy_password_is_a_proxy_error_without_the_password(
    pki, tmp_path, monkeypatch, credentials
):
    good = pki.cert("good", "127.0.0.1", "localhost")
    monkeypatch.setenv("SSL_CERT_FILE", pki.ca_file)
    with (
        tls_sandbox(good) as server,
        forward_proxy(tmp_path / "p", auth="bank:pr0xy-pass") as proxy,
        tls_sandbox(good) as token_server,
    ):
        url = proxy.url.replace("bank:pr0xy-pass@", f"{credentials}@" if credentials else "")
        monkeypatch.setenv("HTTPS_PROXY", url)
        monkeypatch.setenv("NO_PROXY", "")
        # the token call (requests) is refused by the proxy
        api = Api(server.api_url, server.base_url + TOKEN_PATH, "demo-bank", "demo-bank-secret")
        with pytest.raises(ProxyFailure) as token_refused:
            api.get(settings.PING)
        api.close()
        # the GETs (libcurl): the token from a host the proxy does not cover
        monkeypatch.setenv("NO_PROXY", f"localhost:{token_server.port}")
        stats = RunStats()
        api = Api(server.api_url, f"https://localhost:{token_server.port}{TOKEN_PATH}",
                  "demo-bank", "demo-bank-secret", stats=stats)  # fmt: skip
        with pytest.raises(ProxyFailure) as get_refused:
            api.get(settings.PING)
        api.close()
    for refused in (token_refused, get_refused):
        message = str(refused.value)
        assert "proxy" in message and "407" in message and "HTTPS_PROXY" in message
        assert "wrong-pass" not in message and "pr0xy-pass" not in message
        assert f"127.0.0.1:{proxy.url.rsplit(':', 1)[1]}" in message
    assert stats.requests == 1 and stats.retries == 0  # not retried


def test_a_proxy_that_is_down_is_named_without_its_password(monkeypatch):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens
    monkeypatch.setenv("HTTPS_PROXY", f"http://bank:pr0xy-pass@127.0.0.1:{port}")
    api = Api("https://api.symetrisk.com/api/v1", "https://auth.symetrisk.com/oauth2/token",
              "demo-bank", "demo-bank-secret", backoff_factor=0.01)  # fmt: skip
    with pytest.raises(SymetriskConfigError) as refused:
        api.get(settings.PING)
    api.close()
    message = str(refused.value)
    assert f"through the proxy http://127.0.0.1:{port}" in message
    assert "HTTPS_PROXY" in message and "pr0xy-pass" not in message
    assert refused.value.__cause__ is not None
