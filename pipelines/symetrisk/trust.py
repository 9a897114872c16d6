"""The one trust store of every HTTP client (the GETs' libcurl, the token call's and the POSTs'
requests), chosen once, in this order:

1. the first of REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, SSL_CERT_FILE (a PEM file) or SSL_CERT_DIR (a
   directory of hashed certificates, as `c_rehash` / `update-ca-certificates` make) that is set;
2. else the operating system's store (where a bank installs its CA; what system curl and
   Python's default context trust), found as OpenSSL finds it;
3. else certifi's bundle.

Verification is never switched off: there is no setting for it, and an empty variable counts as
unset. The proxies come from the same environment (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY,
NO_PROXY, as requests reads them), and an HTTPS proxy's certificate is checked against the same
store."""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# the variables a bank's platform team sets, in the order they are read
CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")
# where operating systems keep their store, when Python's OpenSSL names none that exists
OS_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",  # RHEL, Fedora
    "/etc/ssl/ca-bundle.pem",  # SUSE
    "/etc/ssl/cert.pem",  # macOS, BSD
)


@dataclass(frozen=True)
class TrustStore:
    """A CA file or a CA directory, and where the choice came from (for messages)."""

    path: str
    is_dir: bool
    source: str  # "SSL_CERT_FILE", ..., "the operating system's store", "certifi"

    @property
    def verify(self) -> str:
        """requests' `verify=`: a file or a directory both work."""
        return self.path


def trust_store() -> TrustStore:
    """The trust store for this process's environment (see the module doc)."""
    for name in CA_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value:
            return TrustStore(value, Path(value).is_dir(), name)
    found = os_store()
    if found is not None:
        return found
    import certifi

    return TrustStore(certifi.where(), False, "certifi")


def os_store() -> TrustStore | None:
    """The operating system's CA file (or directory), or None when it has none."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.openssl_cafile, *OS_BUNDLES):
        if candidate and Path(candidate).is_file():
            return TrustStore(candidate, False, "the operating system's store")
    capath = paths.openssl_capath
    if capath and Path(capath).is_dir() and any(Path(capath).glob("*.0")):
        return TrustStore(paths.openssl_capath, True, "the operating system's store")
    return None


def apply_to_curl(handle, store: TrustStore) -> None:  # type: ignore[no-untyped-def]
    """Set `store` on a pycurl handle, for the server and for an HTTPS proxy alike."""
    import pycurl

    if store.is_dir:
        # the directory replaces libcurl's compiled-in file, so only this store is trusted
        for file_option, dir_option in (
            (pycurl.CAINFO, pycurl.CAPATH),
            (pycurl.PROXY_CAINFO, pycurl.PROXY_CAPATH),
        ):
            handle.unsetopt(file_option)
            handle.setopt(dir_option, store.path)
        return
    handle.setopt(pycurl.CAINFO, store.path)
    handle.setopt(pycurl.PROXY_CAINFO, store.path)


def proxy_for(url: str) -> str | None:
    """The proxy for `url` from HTTPS_PROXY / HTTP_PROXY / ALL_PROXY, or None when NO_PROXY
    covers its host or none is set: requests' own reading, so both clients agree."""
    from requests.utils import get_environ_proxies

    proxies = get_environ_proxies(url)
    return proxies.get(url.split(":", 1)[0].lower()) or proxies.get("all") or None


def without_password(url: str | None) -> str:
    """`url` with any user and password taken out, for messages."""
    if not url:
        return ""
    try:
        parts = urlsplit(url if "://" in url else "http://" + url)
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        shown = urlunsplit((parts.scheme, host, parts.path, "", ""))
    except ValueError:
        return "(the proxy)"
    return shown if "://" in url else shown.split("://", 1)[1]
