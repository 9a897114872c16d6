"""The bank's CA against a real TLS sandbox (uvicorn serving a trustme certificate): trusted
through each of the four variables by the token call, the GETs and the POSTs alike; and an
unknown CA, a wrong host and an expired certificate refused at once (one attempt), in one line
naming the problem and the setting that fixes it, with the cause kept for --debug."""

from __future__ import annotations

import pytest

from pipelines.sandbox.app import TOKEN_PATH
from pipelines.symetrisk import settings
from pipelines.symetrisk.client import Api
from pipelines.symetrisk.errors import SymetriskConfigError
from pipelines.symetrisk.netfailures import TrustError
from pipelines.symetrisk.stats import RunStats
from pipelines.symetrisk.trust import CA_VARIABLES, trust_store
from tests.e2e.netkit import load, make_pki, tls_sandbox

pytestmark = pytest.mark.e2e

BODY = {"borrowers": [{"organization_number": "810000007"}]}


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(autouse=True)
def no_ca_settings(monkeypatch):
    for name in (*CA_VARIABLES, "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)


def api_for(server, stats: RunStats | None = None, token_server=None) -> Api:
    token_url = (token_server or server).base_url + TOKEN_PATH
    return Api(
        server.api_url,
        token_url,
        "demo-bank",
        "demo-bank-secret",
        scope=f"{settings.READ_SCOPE} {settings.WRITE_SCOPE}",
        stats=stats,
        backoff_factor=0.01,
    )


@pytest.mark.parametrize("variable", CA_VARIABLES)
def test_the_ca_from_each_variable_is_trusted_by_token_call_gets_and_posts(
    pki, monkeypatch, variable
):
    good = pki.cert("good", "127.0.0.1", "localhost")
    monkeypatch.setenv(variable, pki.ca_dir if variable == "SSL_CERT_DIR" else pki.ca_file)
    assert trust_store().source == variable
    with tls_sandbox(good) as server:
        assert server.base_url.startswith("https://")
        api = api_for(server)
        try:
            me = api.get(settings.SELF)  # the token call (requests), then a GET (libcurl)
            relationships = [item for page in api.pages(settings.RELATIONSHIPS) for item in page]
            answer = api.post(settings.REQUEST_ACCESS, BODY)  # requests
        finally:
            api.close()
    assert me["company"]["role"] == "bank"
    assert len(relationships) == server.options.borrowers
    assert answer is not None
    assert api.auth.tokens_obtained == 1


def test_without_the_ca_the_os_store_is_used_and_refuses_the_private_ca(pki):
    store = trust_store()
    assert store.source in ("the operating system's store", "certifi")
    good = pki.cert("good", "127.0.0.1")
    with tls_sandbox(good) as server:
        api = api_for(server)
        with pytest.raises(TrustError) as refused:
            api.get(settings.PING)
        api.close()
    assert "signed by a CA this machine does not trust" in str(refused.value)
    assert store.path in str(refused.value)


CASES = {
    "unknown CA": (lambda pki: pki.cert("good", "127.0.0.1"), False, "does not trust"),
    "wrong host": (lambda pki: pki.cert("wrong", "wrong.example"), True, "another host name"),
    "expired": (lambda pki: pki.cert("old", "127.0.0.1", expired=True), True, "has expired"),
}
FIXES = {
    "unknown CA": "SSL_CERT_FILE",
    "wrong host": settings.SETTING_TOKEN_URL,
    "expired": "renew",
}


@pytest.mark.parametrize("case", CASES)
def test_a_bad_certificate_on_the_token_call_is_refused_at_once_in_one_line(pki, monkeypatch, case):
    make_cert, trust_our_ca, words = CASES[case]
    if trust_our_ca:
        monkeypatch.setenv("SSL_CERT_FILE", pki.ca_file)
    with tls_sandbox(make_cert(pki)) as server:
        stats = RunStats()
        api = api_for(server, stats)
        with pytest.raises(SymetriskConfigError) as refused:
            api.get(settings.PING)
        api.close()
        seen = server.app.state.log.total
    message = str(refused.value)
    assert words in message and FIXES[case] in message
    assert "\n" not in message
    assert refused.value.__cause__ is not None  # kept for --debug
    assert seen == 0 and stats.requests == 0  # the token call was tried once, never retried


@pytest.mark.parametrize("case", CASES)
def test_a_bad_certificate_on_the_gets_and_posts_is_refused_at_once(pki, monkeypatch, case):
    make_cert, _, words = CASES[case]
    monkeypatch.setenv("SSL_CERT_FILE", pki.ca_file)
    if case == "unknown CA":  # the API's certificate from a CA nobody gave this machine
        from tests.e2e.netkit import make_pki as another

        bad = another(pki.dir / "other").cert("good", "127.0.0.1")
    else:
        bad = make_cert(pki)
    good = pki.cert("good", "127.0.0.1")
    with tls_sandbox(good) as token_server, tls_sandbox(bad) as server:
        stats = RunStats()
        api = api_for(server, stats, token_server=token_server)
        with pytest.raises(TrustError) as get_refused:
            api.get(settings.PING)  # libcurl
        with pytest.raises(TrustError) as post_refused:
            api.post(settings.REQUEST_ACCESS, BODY)  # requests
        api.close()
    for refused in (get_refused, post_refused):
        assert words in str(refused.value) and "\n" not in str(refused.value)
        assert refused.value.__cause__ is not None
    assert stats.requests == 2 and stats.retries == 0  # one GET and one POST, none retried
    if case == "wrong host":
        assert settings.SETTING_BASE_URL in str(get_refused.value)


def test_symetrisk_run_says_one_line_and_exits_1_for_an_expired_certificate(
    pki, monkeypatch, tmp_path, capsys
):
    from pipelines.cli import main

    monkeypatch.setenv("SSL_CERT_FILE", pki.ca_file)
    with tls_sandbox(pki.cert("old", "127.0.0.1", expired=True)) as server:
        for name, value in {
            "BASE_URL": server.api_url,
            "TOKEN_URL": server.base_url + TOKEN_PATH,
            "CLIENT_ID": "demo-bank",
            "CLIENT_SECRET": "demo-bank-secret",
        }.items():
            monkeypatch.setenv(f"SOURCES__SYMETRISK__{name}", value)
        code = main(
            [
                "run",
                "--destination",
                str(tmp_path / "w.duckdb"),
                "--pipelines-dir",
                str(tmp_path / "dlt"),
                "--no-models",
            ]
        )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert [line for line in err if "failed" in line] == [err[-1]]
    assert "has expired" in err[-1] and "Traceback" not in "\n".join(err)


def test_a_tls_sandbox_loads_end_to_end(pki, monkeypatch, tmp_path):

    monkeypatch.setenv("SSL_CERT_FILE", pki.ca_file)
    with tls_sandbox(pki.cert("good", "127.0.0.1")) as server:
        stats = RunStats()
        load(server, tmp_path, stats)
        truth = server.sandbox.summary()
    assert stats.rows["accounting_snapshots"]["new"] > 0
    assert stats.borrowers_done == stats.borrowers_total > 0
    assert truth  # the sandbox answered over TLS throughout
