"""The first call, `/self`: who the calling client is, its failures worded as the settings to
check, and the one line for an undocumented path the API does not have."""

from __future__ import annotations

from typing import Any

from requests import HTTPError
from requests.exceptions import RequestException

from . import settings
from .client import Api
from .errors import SymetriskApiError, SymetriskConfigError
from .responses import error_message, error_status
from .stats import RunStats


def call_self(api: Api, base_url: str, stats: RunStats | None = None) -> dict[str, Any]:
    """GET /self: the first call, so its failures speak about settings. The docs do not spell
    out its path: when it answers 404 and /ping (documented) answers, the run goes on without
    the `company` table; when /ping is missing too, the base URL is wrong."""
    try:
        me = api.get(settings.SELF)
    except SymetriskConfigError:
        raise
    except HTTPError as exc:
        status = error_status(exc)
        if status == 401:
            raise SymetriskConfigError(
                f"the API refused the token ({error_message(exc)}): check "
                f"{settings.SETTING_CLIENT_ID}, {settings.SETTING_CLIENT_SECRET} and "
                f"{settings.SETTING_TOKEN_URL}"
            ) from None
        if status == 404 and _answers(api, settings.PING):
            if stats is not None:
                stats.note(optional_path_note("company", settings.SELF, "SELF"))
            return {}
        if status == 404:
            raise SymetriskConfigError(
                f"{base_url} has neither {settings.SELF} nor {settings.PING}: check "
                f"{settings.SETTING_BASE_URL}"
            ) from None
        raise SymetriskApiError(
            f"the API failed on {settings.SELF}: {error_message(exc)}"
        ) from None
    except RequestException as exc:
        raise SymetriskConfigError(
            f"cannot reach the API at {base_url} ({type(exc).__name__}): check "
            f"{settings.SETTING_BASE_URL}"
        ) from None
    if not isinstance(me, dict):
        raise SymetriskConfigError(
            f"{base_url}{settings.SELF} did not answer like Symetrisk: check "
            f"{settings.SETTING_BASE_URL}"
        )
    return me


def company_of(me: dict[str, Any]) -> dict[str, Any]:
    """The `company` object of /self's answer ({} when there is none)."""
    company = me.get("company")
    return company if isinstance(company, dict) else {}


def _answers(api: Api, path: str) -> bool:
    try:
        api.get(path)
    except HTTPError:
        return False
    return True


def optional_path_note(table: str, path: str, name: str) -> str:
    """The one line for an undocumented path this API does not have."""
    return (
        f"skipped {table}: the API has no {path} (HTTP 404; the public docs do not define "
        f"this path; if it lives elsewhere, set {name} in pipelines/symetrisk/settings.py)"
    )
