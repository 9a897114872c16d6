"""The HTTP side of the source. Every GET (pages and single objects, the volume of a load) goes
through the lean transport in transport.py; writes (POST) go through dlt's requests Client
(retries with backoff that honour Retry-After) and RESTClient, extended in two named places:

- `SymetriskSession.send`: one shared rate limit for all threads, a pause for every thread after
  a 429, request and retry counting, and one token renewal + resend after a 401;
- `retry_on_broken_json`: a 200 whose body is not JSON (cut short, garbled) is retried like a
  5xx; the parsed body is kept on the response so nothing parses it twice (orjson, fast).

Both paths share one auth, one limiter and one set of counters; `explain` words what a failure
means for the person running the load, whichever path it came from."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any, NoReturn

from dlt.common.configuration import resolve_configuration
from dlt.common.configuration.specs.runtime_configuration import RuntimeConfiguration
from dlt.sources.helpers.requests import Client
from dlt.sources.helpers.requests.retry import _make_retry
from dlt.sources.helpers.requests.session import Session
from dlt.sources.helpers.rest_client import RESTClient
from requests import HTTPError, Response
from requests.exceptions import ProxyError, RequestException
from requests.utils import get_environ_proxies

from . import settings, stopping
from .adapter import ProductAdapter
from .auth import CognitoClientCredentials
from .errors import LimitExceeded, SymetriskApiError, SymetriskConfigError
from .https_only import allowed_by_config, check_url
from .paging import SkipPaginator
from .pool import bounded_map
from .responses import (
    BrokenJsonError,
    api_error,
    error_message,
    error_status,
    page_items,
    response_json,
    retry_after_seconds,
    retry_on_broken_json,
)
from .stats import RunStats
from .transport import Transport


class RateLimiter:
    """One limit shared by every thread: at most `rps` requests per second (0 = no cap), and
    nobody sends while a 429's Retry-After is running."""

    def __init__(self, rps: float = 0.0) -> None:
        self.interval = 1.0 / rps if rps and rps > 0 else 0.0
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_slot, self._paused_until)
            if self.interval:
                self._next_slot = start + self.interval
        delay = start - now
        if delay > 0:
            stopping.sleep(delay)

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)


class SymetriskSession(Session):
    """dlt's Session with the shared limiter, counting and the 401 renewal (see module doc)."""

    limiter: RateLimiter
    stats: RunStats
    bearer: CognitoClientCredentials | None

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
        attempt = getattr(request, "_symetrisk_attempt", 0)
        request._symetrisk_attempt = attempt + 1
        self.limiter.acquire()
        self.stats.request(retry=attempt > 0)
        try:
            response = super().send(request, **kwargs)
        except HTTPError as exc:  # raised by RESTClient's response hook
            response = exc.response
            if response is None or not self._answer(request, response):
                raise
            return self._resend_with_new_token(request, response, kwargs)
        if self._answer(request, response):
            return self._resend_with_new_token(request, response, kwargs)
        return response

    def _answer(self, request, response: Response) -> bool:  # type: ignore[no-untyped-def]
        """Note the answer; True when it is a 401 worth one token renewal."""
        code = response.status_code
        self.stats.status(code)
        if code == 429:
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            if wait:
                self.limiter.pause(min(wait, settings.DEFAULT_MAX_RETRY_DELAY_S))
        return (
            code == 401
            and self.bearer is not None
            and not getattr(request, "_symetrisk_renewed", False)
        )

    def _resend_with_new_token(self, request, response: Response, kwargs):  # type: ignore[no-untyped-def]
        request._symetrisk_renewed = True
        response.close()
        token = self.bearer.renew(request.headers.get("Authorization"))
        request.headers["Authorization"] = f"Bearer {token}"
        # the unwrapped send: a 429/5xx on the resend is retried by the outer retry loop
        return SymetriskSession.send(self, request, **kwargs)


class SymetriskHttp(Client):
    """dlt's retrying Client whose per-thread sessions are SymetriskSessions."""

    def __init__(
        self,
        stats: RunStats,
        limiter: RateLimiter,
        bearer: CognitoClientCredentials | None = None,
        concurrency: int = settings.DEFAULT_CONCURRENCY,
        base_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("raise_for_status", False)
        super().__init__(**kwargs)
        self._adapter = ProductAdapter(pool_connections=4, pool_maxsize=concurrency + 4)
        self.stats = stats
        self.limiter = limiter
        self.bearer = bearer
        self.base_url = base_url

    def _make_session(self) -> Session:
        # dlt's Client._make_session, with our Session class and its collaborators
        session = SymetriskSession(**self._session_kwargs)
        for key, value in self._session_attrs.items():
            setattr(session, key, value)
        session.mount("http://", self._adapter)
        session.mount("https://", self._adapter)
        if self.base_url:
            # requests reads proxy settings from the environment on every request (measured: a
            # third of the loader's per-request CPU). Every request of this session goes to the
            # API's one host, so read them once, as requests would for that host. The trust
            # store is the adapter's (trust.py).
            session.proxies.update(get_environ_proxies(self.base_url))
            session.trust_env = False
        session.limiter = self.limiter
        session.stats = self.stats
        session.bearer = self.bearer
        session.send = _make_retry(**self._retry_kwargs).wraps(session.send)
        return session


class Api:
    """The Symetrisk API as the resources see it: JSON objects and pages of items, from any
    thread, with one auth, one limiter and one set of counters."""

    def __init__(
        self,
        base_url: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | None = settings.DEFAULT_SCOPE,
        stats: RunStats | None = None,
        concurrency: int = settings.DEFAULT_CONCURRENCY,
        rate_limit_rps: float = settings.DEFAULT_RATE_LIMIT_RPS,
        connect_timeout_s: float = settings.DEFAULT_CONNECT_TIMEOUT_S,
        read_timeout_s: float = settings.DEFAULT_READ_TIMEOUT_S,
        max_attempts: int = settings.DEFAULT_MAX_ATTEMPTS,
        backoff_factor: float = settings.DEFAULT_BACKOFF_FACTOR,
        max_retry_delay_s: float = settings.DEFAULT_MAX_RETRY_DELAY_S,
        max_response_bytes: int = settings.DEFAULT_MAX_RESPONSE_BYTES,
        request_deadline_s: float = settings.DEFAULT_REQUEST_DEADLINE_S,
        max_pages: int = settings.DEFAULT_MAX_PAGES,
        allow_insecure_http: bool | None = None,
    ) -> None:
        if not base_url:
            raise SymetriskConfigError(f"no API base URL: set {settings.SETTING_BASE_URL}")
        if not token_url:
            raise SymetriskConfigError(f"no token URL: set {settings.SETTING_TOKEN_URL}")
        if not client_id or not client_secret:
            raise SymetriskConfigError(
                f"no client credentials: set {settings.SETTING_CLIENT_ID} and "
                f"{settings.SETTING_CLIENT_SECRET}"
            )
        if allow_insecure_http is None:
            allow_insecure_http = allowed_by_config()
        check_url(base_url, settings.SETTING_BASE_URL, allow_insecure_http)
        check_url(token_url, settings.SETTING_TOKEN_URL, allow_insecure_http)
        self.base_url = base_url.rstrip("/")
        self.concurrency = concurrency
        self.max_pages = max(1, int(max_pages))
        stopping.clear()  # a new session: a stop asked of an earlier one in this process is done
        self.stats = stats or RunStats()
        self.limiter = RateLimiter(rate_limit_rps)
        timeout = (connect_timeout_s, read_timeout_s)
        token_http = Client(
            request_timeout=timeout,
            raise_for_status=False,
            request_max_attempts=settings.TOKEN_MAX_ATTEMPTS,
            request_backoff_factor=backoff_factor,
            request_max_retry_delay=max_retry_delay_s,
        )
        token_adapter = ProductAdapter()
        token_http.session.mount("https://", token_adapter)
        token_http.session.mount("http://", token_adapter)
        self.auth = CognitoClientCredentials(
            access_token_url=token_url,
            client_id=client_id,
            client_secret=client_secret,
            scope=scope,
            session=token_http.session,
        )
        self.http = SymetriskHttp(
            stats=self.stats,
            limiter=self.limiter,
            bearer=self.auth,
            concurrency=concurrency,
            base_url=self.base_url,
            request_timeout=timeout,
            request_max_attempts=max_attempts,
            request_backoff_factor=backoff_factor,
            request_max_retry_delay=max_retry_delay_s,
            retry_condition=retry_on_broken_json,
        )
        self.transport = Transport(
            self.base_url,
            bearer=self.auth,
            limiter=self.limiter,
            stats=self.stats,
            connect_timeout_s=connect_timeout_s,
            read_timeout_s=read_timeout_s,
            max_attempts=max_attempts,
            backoff_factor=backoff_factor,
            max_retry_delay_s=max_retry_delay_s,
            concurrency=concurrency,
            max_response_bytes=max_response_bytes,
            request_deadline_s=request_deadline_s,
        )
        self._runtime_config = resolve_configuration(RuntimeConfiguration())
        self._local = threading.local()

    @property
    def rest(self) -> RESTClient:
        """This thread's RESTClient for writes (its own session, shared pool, auth, limiter)."""
        client = getattr(self._local, "rest", None)
        if client is None:
            client = self._local.rest = RESTClient(
                base_url=self.base_url,
                auth=self.auth,
                session=self.http.session,
                config=self._runtime_config,
            )
        return client

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET one object; HTTPError for a 403/404 that survived the retries (the caller may
        skip it), a SymetriskError naming what to check for anything else (see `explain`)."""
        try:
            return self.transport.get_json(path, params)
        except (RequestException, BrokenJsonError) as exc:
            _reraise(exc, "GET", path)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        """POST (a write: needs the write scope); errors as for `get`, and a 403 for a missing
        scope names the scope setting."""
        return self._call("POST", path, json=body)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.rest.request(path, method=method, **kwargs)
            if response.status_code >= 400:
                raise api_error(response)
            return response_json(response)
        except (RequestException, BrokenJsonError) as exc:
            _reraise(exc, method, path)

    def pages(
        self, path: str, limit: int = settings.MAX_PAGE_SIZE, params: dict[str, Any] | None = None
    ) -> Iterator[list[Any]]:
        """Pages of items on limit/skip; stop iterating to stop asking (newest-first cut-offs)."""
        paginator = SkipPaginator(limit=min(max(1, limit), settings.MAX_PAGE_SIZE))
        query = dict(params or {})
        try:
            while paginator.has_next_page:
                query["skip"], query["limit"] = paginator.current_value, paginator.limit
                body = self.transport.get_json(path, query)
                items, total = page_items(body)
                paginator.advance(len(items), total)
                if paginator.has_next_page and paginator.pages_read >= self.max_pages:
                    raise self.too_many_pages(path)
                yield items
        except (RequestException, BrokenJsonError) as exc:
            _reraise(exc, "GET", path)

    def list_items(self, path: str) -> list[Any]:
        """Every item of a list endpoint. The first page gives the total, so the other pages are
        asked for at once. If any page saw another total, or a page short of the first one's
        size before the end, the list changed while it was read: it is read again page by page,
        as `pages` does (callers drop repeated items by key)."""
        limit = settings.MAX_PAGE_SIZE

        def page(skip: int) -> tuple[list[Any], int | None]:
            return page_items(self.transport.get_json(path, {"skip": skip, "limit": limit}))

        def in_turn() -> list[Any]:
            return [item for items in self.pages(path) for item in items]

        try:
            first, total = page(0)
            size = len(first)
            if total is None:  # nothing to plan by
                return in_turn()
            if size == 0 or size >= total:
                return first
            if total > size * self.max_pages:
                # more pages than the limit: read them in turn, which stops at an empty page
                # (a total that lies) or at the limit
                return in_turn()
            offsets = range(size, total, size)
            found: dict[int, tuple[list[Any], int | None]] = {}
            for skip, result, error in bounded_map(page, offsets, self.concurrency):
                if error is not None:
                    raise error
                found[skip] = result
        except (RequestException, BrokenJsonError) as exc:
            _reraise(exc, "GET", path)
        last = offsets[-1]
        if any(t != total or (s != last and len(p) != size) for s, (p, t) in found.items()):
            return in_turn()
        return first + [item for skip in offsets for item in found[skip][0]]

    def too_many_pages(self, path: str) -> LimitExceeded:
        return LimitExceeded(
            f"GET {path} had more than {self.max_pages:,} pages (limit "
            f"{settings.SETTING_MAX_PAGES}={self.max_pages})"
        )

    def close(self) -> None:
        self.http._adapter.close()
        self.auth.session.close()  # the token call's keep-alive connection
        self.transport.close()


def explain(exc: BaseException, method: str, path: str) -> BaseException:
    """What a failed request means for the person running the load, once retries are spent:
    a 401 (after the token renewals) or a write's missing scope is a setting to check, a
    5xx/429 or no answer is the API failing. A 403/404 stays an HTTPError: the resources skip
    what they may not read. The message never holds a header, so never the token."""
    status = error_status(exc)
    where = f"{method} {path}"
    if status == 401:
        return SymetriskConfigError(
            f"the API refused a freshly issued token ({error_message(exc)}): check "
            f"{settings.SETTING_CLIENT_ID}, {settings.SETTING_CLIENT_SECRET} and "
            f"{settings.SETTING_TOKEN_URL} (the token endpoint must belong to this API)"
        )
    if status == 403 and method != "GET" and "scope" in error_message(exc).lower():
        return SymetriskConfigError(
            f"{error_message(exc)}: a write needs the scope {settings.WRITE_SCOPE}; set "
            f"{settings.SETTING_CLIENT_ID} and {settings.SETTING_CLIENT_SECRET} to a client "
            f"allowed it ({settings.SETTING_SCOPE}, if set, must include it)"
        )
    if status is not None and (status >= 500 or status == 429):
        return SymetriskApiError(
            f"the API kept failing on {where} after every retry ({error_message(exc)}); "
            "nothing of this run was loaded, so the next run starts where the last one ended"
        )
    if isinstance(exc, BrokenJsonError):
        return SymetriskApiError(f"{exc} after every retry; nothing of this run was loaded")
    if status is None and (isinstance(exc, ProxyError) or "through the proxy" in str(exc)):
        return SymetriskApiError(
            f"no answer through the proxy on {where} after every retry ({type(exc).__name__}): "
            "check HTTPS_PROXY (is the proxy up, does it allow the API's host?) and NO_PROXY, "
            f"then {settings.SETTING_BASE_URL}"
        )
    if status is None and isinstance(exc, RequestException):
        return SymetriskApiError(
            f"no answer from the API on {where} after every retry ({type(exc).__name__}): "
            f"check {settings.SETTING_BASE_URL}, or give slow answers more time (--read-timeout)"
        )
    return exc


def _reraise(exc: BaseException, method: str, path: str) -> NoReturn:
    explained = explain(exc, method, path)
    if explained is exc:
        raise exc
    raise explained from exc


__all__ = ["Api", "RateLimiter", "SymetriskHttp", "explain"]
