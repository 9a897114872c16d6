"""Unit tests of the network manners, one function each: the trust store's order, the proxy
reading, HTTPS only except loopback, the proxy password kept out of messages, the words of a
failed certificate, and the terminal's time-left and never-negative ages."""

from __future__ import annotations

import types

import pytest

from pipelines.symetrisk import settings
from pipelines.symetrisk.client import Api
from pipelines.symetrisk.errors import SymetriskConfigError
from pipelines.symetrisk.https_only import check_url, is_loopback
from pipelines.symetrisk.netfailures import certificate_failure, curl_failure, proxy_failure
from pipelines.symetrisk.trust import CA_VARIABLES, proxy_for, trust_store, without_password


@pytest.fixture(autouse=True)
def no_network_env(monkeypatch):
    for name in (*CA_VARIABLES, "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def test_trust_store_order_is_the_four_variables_then_the_os_store(monkeypatch, tmp_path):
    files = {}
    for name in CA_VARIABLES:
        files[name] = tmp_path / name.lower()
        files[name].mkdir() if name == "SSL_CERT_DIR" else files[name].write_text("pem")
    assert trust_store().source in ("the operating system's store", "certifi")
    for name in reversed(CA_VARIABLES):  # each one set outranks those after it
        monkeypatch.setenv(name, str(files[name]))
        store = trust_store()
        assert (store.source, store.path) == (name, str(files[name]))
        assert store.is_dir == (name == "SSL_CERT_DIR")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "  ")  # blank counts as unset
    assert trust_store().source == "CURL_CA_BUNDLE"


def test_proxies_follow_no_proxy_as_requests_reads_them(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://u:p@proxy.bank.example:3128")
    monkeypatch.setenv("ALL_PROXY", "http://all.bank.example:1")
    monkeypatch.setenv("NO_PROXY", "internal.example,.corp.example")
    assert proxy_for("https://api.symetrisk.com/api/v1") == "http://u:p@proxy.bank.example:3128"
    assert proxy_for("https://internal.example/api") is None
    assert proxy_for("https://x.corp.example/api") is None
    assert proxy_for("http://plain.example/") == "http://all.bank.example:1"


def test_the_proxy_password_never_shows():
    assert without_password("http://bank:s3cret@proxy:3128") == "http://proxy:3128"
    assert without_password("https://proxy.bank.example") == "https://proxy.bank.example"
    refused = proxy_failure(
        "CONNECT tunnel failed, response 407", "http://b:s3cret@p:1", "https://a/"
    )
    assert refused is not None and "s3cret" not in str(refused) and "http://p:1" in str(refused)


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://api.symetrisk.com/api/v1", True),
        ("http://127.0.0.1:8765/api/v1", True),
        ("http://[::1]:8765/api/v1", True),
        ("http://localhost:8765/api/v1", True),
        ("http://api.symetrisk.com/api/v1", False),
        ("http://10.0.0.5/api/v1", False),
    ],
)
def test_https_only_except_loopback(url, allowed):
    if allowed:
        check_url(url, settings.SETTING_BASE_URL)
        return
    with pytest.raises(SymetriskConfigError) as refused:
        check_url(url, settings.SETTING_BASE_URL)
    assert "SOURCES__SYMETRISK__ALLOW_INSECURE_HTTP" in str(refused.value)
    check_url(url, settings.SETTING_BASE_URL, allow_insecure_http=True)  # the explicit setting


def test_the_api_refuses_plain_http_before_any_request(monkeypatch):
    with pytest.raises(SymetriskConfigError, match=settings.SETTING_TOKEN_URL):
        Api("https://api.symetrisk.com/api/v1", "http://auth.example/oauth2/token", "id", "s")
    monkeypatch.setenv("SOURCES__SYMETRISK__ALLOW_INSECURE_HTTP", "true")
    Api("http://api.example/api/v1", "http://auth.example/oauth2/token", "id", "s").close()
    assert is_loopback("127.0.0.2") and not is_loopback("example.com")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("SSL certificate OpenSSL verify result: unable to get local issuer certificate (20)",
         "does not trust"),
        ("SSL: no alternative certificate subject name matches target host name 'a'",
         "another host name"),
        ("SSL certificate OpenSSL verify result: certificate has expired (10)", "has expired"),
    ],
)  # fmt: skip
def test_certificate_failures_are_worded_and_never_retried(text, words):
    failure = curl_failure(types.SimpleNamespace(args=(60, text)), "https://a.example/x", None)
    assert failure is not None and words in str(failure)
    assert certificate_failure("connection reset by peer", "https://a/") is None
    # refused, dropped, timed out: worth a retry, not a setting
    assert (
        curl_failure(types.SimpleNamespace(args=(7, "Failed to connect")), "https://a/", None)
        is None
    )


def test_time_left_and_ages_are_never_negative():
    from pipelines.cli.run import time_left
    from pipelines.cli.status import days_ago

    stats = types.SimpleNamespace(borrowers_done=25, borrowers_total=100, elapsed=30.0)
    assert time_left(stats) == "about 2 min left"  # 30 s for 25, so 90 s for 75
    stats.borrowers_done = 0
    assert time_left(stats) == "? left"
    assert days_ago(3) == "3 days ago" and "-" not in days_ago(-28)
