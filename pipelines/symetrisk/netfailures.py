"""Certificate and proxy failures, from libcurl (the GETs) or requests (the token call and the
POSTs), as one line saying what is wrong and which setting fixes it. They are never retried:
an unknown CA, a certificate for another host, an expired certificate, a proxy that refuses or
asks for credentials answer the same way the ninth time. The proxy's password never appears
(trust.without_password)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from . import settings
from .errors import SymetriskConfigError
from .trust import CA_VARIABLES, TrustStore, trust_store, without_password

PROXY_SETTINGS = "HTTPS_PROXY (or HTTP_PROXY, ALL_PROXY; NO_PROXY for hosts to reach directly)"
_CA_HINT = (
    "give the CA that signed it with SSL_CERT_FILE (a PEM file) or SSL_CERT_DIR (a directory); "
    f"{', '.join(CA_VARIABLES[:2])} work too"
)
_PROXY_STATUS = re.compile(r"(?:response|connection failed:) (\d{3})")


class TrustError(SymetriskConfigError):
    """A certificate the client cannot trust: the server's or an HTTPS proxy's."""


class ProxyFailure(SymetriskConfigError):
    """The proxy refused the request or asked for credentials."""


def _host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


def _setting_of(url: str) -> str:
    return settings.SETTING_TOKEN_URL if "/oauth2/" in url else settings.SETTING_BASE_URL


def certificate_failure(text: str, url: str, store: TrustStore | None = None) -> TrustError | None:
    """The one line for a certificate problem described by `text` (libcurl's or OpenSSL's
    words), or None when `text` is not one."""
    low = text.lower()
    store = store or trust_store()
    host = _host(url)
    trusted = f"trusted: {store.source} {store.path}"
    if "expired" in low:
        return TrustError(
            f"the certificate of {host} has expired: the server must renew it (or this "
            f"machine's clock is wrong); nothing was loaded ({trusted})"
        )
    if "not yet valid" in low:
        return TrustError(
            f"the certificate of {host} is not valid yet: check this machine's clock; "
            f"nothing was loaded"
        )
    if "mismatch" in low or "subject name" in low or "doesn't match" in low:
        return TrustError(
            f"the certificate of {host} is for another host name: check {_setting_of(url)} "
            "(use the host name the certificate names); nothing was loaded"
        )
    if (
        "local issuer" in low
        or "self-signed" in low
        or "self signed" in low
        or "unknown ca" in low
        or "certificate verify failed" in low
        or "verify result" in low
        or "issuer certificate" in low
    ):
        return TrustError(
            f"the certificate of {host} is signed by a CA this machine does not trust "
            f"({trusted}): {_CA_HINT}; nothing was loaded"
        )
    if any(w in low for w in ("error setting certificate", "trust anchors", "cafile", "capath")):
        return TrustError(
            f"the trust store {store.path} (from {store.source}) cannot be read: point "
            f"{store.source if store.source in CA_VARIABLES else 'SSL_CERT_FILE'} at a PEM file "
            "or a directory of CA certificates"
        )
    return None


def proxy_failure(text: str, proxy: str | None, url: str) -> ProxyFailure | None:
    """The one line for a proxy's refusal (407, 403, ... to CONNECT), or None."""
    low = text.lower()
    if "407" in low or "proxy authentication" in low:
        shown = without_password(proxy) or "the proxy"
        return ProxyFailure(
            f"the proxy {shown} asks for credentials or refused them (HTTP 407): put the "
            f"proxy's user and password in {PROXY_SETTINGS.split(' ', 1)[0]} "
            "(http://user:password@host:port); nothing was loaded"
        )
    found = _PROXY_STATUS.search(low)
    if found and ("tunnel" in low or "proxy" in low):
        shown = without_password(proxy) or "the proxy"
        return ProxyFailure(
            f"the proxy {shown} refused to connect to {_host(url)} (HTTP {found.group(1)}): "
            f"ask for the host to be allowed, or check {PROXY_SETTINGS}; nothing was loaded"
        )
    return None


# libcurl's codes (pycurl.E_*) for TLS trouble and for a proxy that would not connect us
CURL_TLS = {35, 51, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91, 98}
CURL_PROXY = {5, 7, 56, 97}


def curl_failure(exc: BaseException, url: str, proxy: str | None) -> SymetriskConfigError | None:
    """A pycurl.error that is a certificate or proxy failure, as its one line; None for one
    that is worth a retry (refused, dropped, timed out)."""
    code = exc.args[0] if getattr(exc, "args", None) else None
    text = str(exc.args[-1]) if getattr(exc, "args", None) else str(exc)
    if code in CURL_TLS:
        failure = certificate_failure(text, url)
        if failure is None and proxy and "proxy" in text.lower():
            failure = certificate_failure("unknown ca", proxy)
        if failure is not None:
            return failure
    if code in CURL_PROXY and proxy:
        return proxy_failure(text, proxy, url)
    return None


def requests_failure(
    exc: BaseException, url: str, proxy: str | None
) -> SymetriskConfigError | None:
    """A requests SSLError or ProxyError as its one line; None for anything else."""
    from requests.exceptions import ProxyError, SSLError

    text = str(exc)
    if isinstance(exc, ProxyError):
        found = proxy_failure(text, proxy, url)
        if found is not None:
            return found
        if "certificate" in text.lower():
            return certificate_failure(text, proxy or url)
        return None
    if isinstance(exc, SSLError):
        return certificate_failure(text, url)
    return None
