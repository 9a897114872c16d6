"""HTTPS only, except to this machine: a plain http:// base or token URL would carry the client
secret (a Basic header) and the data in clear text, so it is refused with one line unless its
host is a loopback address (the sandbox) or SOURCES__SYMETRISK__ALLOW_INSECURE_HTTP is true."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from .errors import SymetriskConfigError

SETTING_ALLOW_INSECURE_HTTP = "SOURCES__SYMETRISK__ALLOW_INSECURE_HTTP"


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, setting: str, allow_insecure_http: bool = False) -> None:
    """Raise SymetriskConfigError for a URL that is neither https:// nor allowed plain http."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "https":
        return
    if scheme != "http":
        raise SymetriskConfigError(
            f"{setting} must start with https:// (got {scheme or 'no scheme'}:// in it)"
        )
    if is_loopback(parts.hostname) or allow_insecure_http:
        return
    raise SymetriskConfigError(
        f"{setting} is plain http:// to {parts.hostname}: the client secret and the data would "
        f"travel unencrypted; use https://, or set {SETTING_ALLOW_INSECURE_HTTP}=true to allow "
        "it anyway"
    )


def allowed_by_config() -> bool:
    """SOURCES__SYMETRISK__ALLOW_INSECURE_HTTP from dlt's config (environment or .dlt/)."""
    import dlt

    value = dlt.config.get("sources.symetrisk.allow_insecure_http")
    return str(value).strip().lower() in ("1", "true", "yes", "on")
