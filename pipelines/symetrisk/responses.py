"""Reading the API's answers: the parsed body, the API's own error sentence, Retry-After, the
items of a page. A leaf: both HTTP paths (client.py for writes, transport.py for GETs) use it,
and it imports neither."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from typing import Any

import orjson
from requests import HTTPError, Response

from .errors import SymetriskApiError


class BrokenJsonError(SymetriskApiError, ValueError):
    """A response body that should be JSON and is not (after retries)."""


def path_of(url: str | None) -> str:
    """The path of a URL without its query, for messages."""
    if not url:
        return "?"
    rest = url.split("://", 1)[-1]
    path = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
    return path.split("?", 1)[0]


_JSON_ATTR = "_symetrisk_json"


def response_json(response: Response) -> Any:
    """The parsed body, parsed once (by the retry check) and kept on the response."""
    cached = getattr(response, _JSON_ATTR, None)
    if cached is not None:
        return cached
    try:
        parsed = orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise BrokenJsonError(
            f"the API sent a body that is not JSON for {response.request.method} "
            f"{path_of(response.url)} (HTTP {response.status_code})"
        ) from exc
    setattr(response, _JSON_ATTR, parsed)
    return parsed


def retry_on_broken_json(response: Response | None, exception: BaseException | None) -> bool:
    """dlt retry predicate: retry a successful answer whose body does not parse."""
    if response is None or response.status_code != 200:
        return False
    try:
        setattr(response, _JSON_ATTR, orjson.loads(response.content))
    except orjson.JSONDecodeError:
        return True
    return False


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def page_items(body: Any) -> tuple[list[Any], int | None]:
    """A page's items and the list's `metadata.totalItems` (None when the page has none)."""
    if not isinstance(body, dict):
        return [], None
    items = body.get("items")
    metadata = body.get("metadata")
    total = metadata.get("totalItems") if isinstance(metadata, dict) else None
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        total = None  # missing, or not a count: paging ends at an empty page or the page limit
    return (items if isinstance(items, list) else []), total


def api_error(response: Response) -> HTTPError:
    """An HTTPError whose message is the API's own sentence (never the request headers)."""
    message = ""
    try:
        body = orjson.loads(response.content)
        if isinstance(body, dict):
            message = str(body.get("message") or body.get("error") or "")
    except orjson.JSONDecodeError:
        pass
    text = f"HTTP {response.status_code} for {response.request.method} {path_of(response.url)}"
    if message:
        text += f": {message}"
    return HTTPError(text, response=response)


def error_status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def error_message(exc: BaseException) -> str:
    """The API's sentence for an HTTPError, or the exception's own text."""
    response = getattr(exc, "response", None)
    if response is not None:
        return str(api_error(response))
    return str(exc) or type(exc).__name__
