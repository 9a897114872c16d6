"""How `symetrisk status` words an API check that failed: for the person checking on the
integration (what is wrong now, what to check), never the run's sentence about what a run
loaded. The check uses the run's retries (settings.DEFAULT_MAX_ATTEMPTS per request) within
STATUS_BUDGET_S in all."""

from __future__ import annotations

from . import settings
from .errors import SymetriskConfigError

STATUS_BUDGET_S = 60.0  # the whole API check, retries included
STATUS_MAX_RETRY_DELAY_S = 4.0  # per wait between attempts, so the budget holds 8 attempts
NOTHING_LOADED = ("; nothing was loaded", "; nothing of this run was loaded")


def status_words(exc: BaseException, where: str) -> tuple[bool, str]:
    """(down, text): whether the API could not be reached at all, and one line about it."""
    from requests import HTTPError
    from requests.exceptions import RequestException

    from .responses import error_message, error_status

    attempts = settings.DEFAULT_MAX_ATTEMPTS
    if isinstance(exc, SymetriskConfigError):  # a setting: credentials, TLS, proxy, URL
        text = str(exc)
        for tail in NOTHING_LOADED:
            text = text.split(tail, 1)[0]
        return "cannot reach" in text, text
    cause = exc.__cause__ or exc
    status = error_status(cause)
    if status is not None and (status >= 500 or status == 429):
        return True, (
            f"{where} answered HTTP {status} on each of {attempts} attempts "
            f"({error_message(cause)}); the API is failing, a run now would fail too"
        )
    if isinstance(cause, HTTPError):
        return False, error_message(cause)
    if isinstance(cause, RequestException):
        return True, (
            f"no answer from {where} in {attempts} attempts ({type(cause).__name__}): check "
            f"{settings.SETTING_BASE_URL}, the network and the proxy (HTTPS_PROXY)"
        )
    return False, str(exc).split("; nothing", 1)[0]


def over_budget(where: str) -> str:
    return (
        f"no complete answer from {where} within {STATUS_BUDGET_S:g} s "
        f"({settings.DEFAULT_MAX_ATTEMPTS} attempts per request): the API or the network is "
        "too slow or down"
    )
