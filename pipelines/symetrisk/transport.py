"""The lean HTTP path for the API's GETs (every page and object a load reads): libcurl through
pycurl, one handle per thread that keeps its connection open, parsed with orjson. It does in a
few lines of Python per request what dlt's requests Client does in many (measured: about a tenth
of the CPU per request), with the same manners:

- one shared rate limit for all threads, and every thread pauses for a 429's Retry-After;
- 429, 5xx, no answer (refused, dropped, timed out) and a 2xx whose body is not JSON are retried
  up to `max_attempts` times, waiting `backoff_factor * 2**(attempt - 1)` seconds (or the
  Retry-After), at most `max_retry_delay_s`, as dlt's retry does;
- a token renewal and resend after a 401, up to `TOKEN_RENEWALS` times for one request (a token
  can expire between its renewal and its use; a token refused every time right after it was
  issued means a setting to check);
- the connect timeout, and the read timeout as "no byte for that many seconds";
- limits against a hostile API (in `_limit_options`, `CappedBody`, `_limit_error`): a body past
  `max_response_bytes` is cut off as it arrives (libcurl's MAXFILESIZE alone misses chunked
  bodies), and a request past `request_deadline_s` as a whole is aborted; either raises
  LimitExceeded naming its setting, never retried;
- a stop (Ctrl-C, `stopping.py`) aborts requests in flight and cuts retry waits short;
- proxy and trust store from the environment, read once, as the requests side reads them
  (trust.py: one trust store for both clients, an HTTPS proxy checked against it too);
- gzip (and brotli) asked for and decoded by libcurl, and the product's User-Agent;
- a certificate or proxy failure is not retried: it ends at once in one line
  (netfailures.py).

Once retries are spent it raises what dlt's client would have led to, so `client.explain` words
it the same way: an HTTPError carrying the response for a status of 400 or more, a requests
ConnectionError or Timeout when no answer came, a BrokenJsonError for a body that never parsed.
Writes (POST) stay on dlt's client (client.py): they are few."""

from __future__ import annotations

import math
import threading
from collections import deque
from contextlib import nullcontext
from typing import Any
from urllib.parse import urlencode

import orjson
import pycurl
from requests import PreparedRequest, Response
from requests.exceptions import ConnectionError, ConnectTimeout, ReadTimeout, RequestException
from requests.structures import CaseInsensitiveDict

from . import settings, stopping
from .errors import LimitExceeded, Stopped
from .netfailures import curl_failure
from .responses import BrokenJsonError, api_error, path_of, retry_after_seconds
from .stats import RunStats
from .trust import TrustStore, apply_to_curl, proxy_for, trust_store, without_password
from .useragent import USER_AGENT

TOKEN_RENEWALS = 3  # per request
# libcurl's errors that mean the server never answered in time
_TIMED_OUT = {pycurl.E_OPERATION_TIMEDOUT}


class Transport:
    """GET JSON from one API host, from any thread, under the shared limiter and counters."""

    def __init__(
        self,
        base_url: str,
        *,
        bearer: Any,
        limiter: Any,
        stats: RunStats,
        connect_timeout_s: float,
        read_timeout_s: float,
        max_attempts: int,
        backoff_factor: float,
        max_retry_delay_s: float,
        concurrency: int = 0,
        max_response_bytes: int = settings.DEFAULT_MAX_RESPONSE_BYTES,
        request_deadline_s: float = settings.DEFAULT_REQUEST_DEADLINE_S,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_response_bytes = max(1, int(max_response_bytes))
        self.request_deadline_s = float(request_deadline_s)
        self.bearer = bearer
        self.limiter = limiter
        self.stats = stats
        self.connect_timeout_ms = max(1, int(connect_timeout_s * 1000))
        # libcurl's low-speed check counts whole seconds: fewer than 1 byte/s for this long
        self.read_timeout_s = max(1, math.ceil(read_timeout_s))
        self.max_attempts = max(1, max_attempts)
        self.backoff_factor = backoff_factor
        self.max_retry_delay_s = max_retry_delay_s
        self.proxy = proxy_for(self.base_url)
        self.trust = trust_store()
        # resources extract in parallel: all of them together keep at most this many in flight
        self.in_flight = Slots(concurrency) if concurrency > 0 else None
        self._local = threading.local()
        self._handles: list[pycurl.Curl] = []
        self._handles_lock = threading.Lock()

    def _handle(self) -> pycurl.Curl:
        handle = getattr(self._local, "handle", None)
        if handle is None:
            handle = self._local.handle = pycurl.Curl()
            handle.setopt(pycurl.NOSIGNAL, 1)  # required when threads use libcurl
            handle.setopt(pycurl.CONNECTTIMEOUT_MS, self.connect_timeout_ms)
            handle.setopt(pycurl.LOW_SPEED_LIMIT, 1)
            handle.setopt(pycurl.LOW_SPEED_TIME, self.read_timeout_s)
            network_options(handle, self.trust, self.proxy)
            self._limit_options(handle)
            with self._handles_lock:
                self._handles.append(handle)
        return handle

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """The parsed body of GET `path` (see the module doc for retries and errors)."""
        url = self.base_url + path
        if params:
            url += "?" + urlencode(params)
        sent = 0
        renewals = 0
        attempt = 0
        while True:
            attempt += 1
            if stopping.requested():
                raise Stopped(f"stopped before GET {path_of(url)}")
            try:
                with self.in_flight or nullcontext():
                    # the token is read once a slot is free, so it is as fresh as it can be
                    token = self.bearer.current_token() if self.bearer is not None else None
                    self.limiter.acquire()
                    self.stats.request(retry=sent > 0)
                    sent += 1
                    status, body, header_lines = self._perform(url, token)
            except pycurl.error as exc:
                limit = self._limit_error(exc, url)
                if limit is not None:
                    raise limit from None
                failure = curl_failure(exc, url, self.proxy)
                if failure is not None:  # a certificate or proxy problem: never retried
                    raise failure from exc
                if attempt >= self.max_attempts:
                    raise _no_answer(exc, url, self.proxy) from exc
                self._wait(attempt, None)
                continue
            self.stats.status(status)
            if status != 401 and self.bearer is not None:
                self.bearer.accepted(token)
            if status == 401 and self.bearer is not None and renewals < TOKEN_RENEWALS:
                renewals += 1
                self.bearer.renew(f"Bearer {token}")
                attempt -= 1  # the resend is part of this attempt, as in dlt's client
                continue
            if 200 <= status < 300:
                try:
                    return orjson.loads(body)
                except orjson.JSONDecodeError:
                    if attempt >= self.max_attempts:
                        raise BrokenJsonError(
                            f"the API sent a body that is not JSON for GET {path_of(url)} "
                            f"(HTTP {status})"
                        ) from None
                    self._wait(attempt, None)
                    continue
            retry_after = None
            if status == 429 or status >= 500:
                retry_after = _retry_after(header_lines)
                if status == 429 and retry_after:
                    self.limiter.pause(min(retry_after, self.max_retry_delay_s))
                if attempt < self.max_attempts:
                    self._wait(attempt, retry_after)
                    continue
            raise api_error(_response(url, status, body, header_lines))

    def _perform(self, url: str, token: str | None) -> tuple[int, bytes, list[bytes]]:
        handle = self._handle()
        body = self._local.body = CappedBody(self.max_response_bytes)
        header_lines: list[bytes] = []
        handle.setopt(pycurl.URL, url)
        handle.setopt(pycurl.HTTPHEADER, [f"Authorization: Bearer {token}"] if token else [])
        handle.setopt(pycurl.WRITEFUNCTION, body.write)
        handle.setopt(pycurl.HEADERFUNCTION, header_lines.append)
        handle.perform()
        self.stats.wire(int(handle.getinfo(pycurl.SIZE_DOWNLOAD_T)))
        return handle.getinfo(pycurl.RESPONSE_CODE), body.value(), header_lines

    # --- limits against a hostile API ---------------------------------------------------------

    def _limit_options(self, handle: pycurl.Curl) -> None:
        """The whole-request deadline, a declared size past the cap refused up front, and a
        progress callback that aborts the transfer when a stop is requested."""
        if self.request_deadline_s > 0:
            handle.setopt(pycurl.TIMEOUT_MS, max(1, int(self.request_deadline_s * 1000)))
        handle.setopt(pycurl.MAXFILESIZE_LARGE, self.max_response_bytes)
        handle.setopt(pycurl.NOPROGRESS, 0)
        handle.setopt(pycurl.XFERINFOFUNCTION, _abort_when_stopping)

    def _limit_error(self, exc: pycurl.error, url: str) -> BaseException | None:
        """The error to raise at once, without retrying, for a transfer cut off by a limit or
        a stop; None for an ordinary failure (retried)."""
        code = exc.args[0] if exc.args else None
        body = getattr(self._local, "body", None)
        where = f"GET {path_of(url)}"
        if code == pycurl.E_ABORTED_BY_CALLBACK or stopping.requested():
            return Stopped(f"stopped during {where}")
        if (body is not None and body.over) or code == pycurl.E_FILESIZE_EXCEEDED:
            return LimitExceeded(
                f"the API sent more than {self.max_response_bytes:,} bytes for {where} (limit "
                f"{settings.SETTING_MAX_RESPONSE_BYTES}={self.max_response_bytes})"
            )
        if code in _TIMED_OUT and self.request_deadline_s > 0:
            handle = self._handle()
            if handle.getinfo(pycurl.TOTAL_TIME) >= self.request_deadline_s * 0.99:
                return LimitExceeded(
                    f"{where} took longer than {self.request_deadline_s:g} s as a whole (limit "
                    f"{settings.SETTING_REQUEST_DEADLINE_S}={self.request_deadline_s:g})"
                )
        return None

    def _wait(self, attempt: int, retry_after: float | None) -> None:
        """dlt's wait: the Retry-After when the server gave one, else exponential backoff."""
        if retry_after:
            delay = min(retry_after, self.max_retry_delay_s)
        else:
            delay = min(self.backoff_factor * 2 ** (attempt - 1), self.max_retry_delay_s)
        if delay > 0:
            stopping.sleep(delay)

    def close(self) -> None:
        with self._handles_lock:
            for handle in self._handles:
                handle.close()
            self._handles.clear()


class CappedBody:
    """A response body gathered chunk by chunk, cut off past `limit` bytes: libcurl aborts
    the transfer when the write callback takes fewer bytes than it was given."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.over = False
        self._chunks: list[bytes] = []

    def write(self, chunk: bytes) -> int | None:
        self.size += len(chunk)
        if self.size > self.limit:
            self.over = True
            self._chunks.clear()
            return 0  # not len(chunk): libcurl stops with CURLE_WRITE_ERROR
        self._chunks.append(chunk)
        return None

    def value(self) -> bytes:
        return b"".join(self._chunks)


def _abort_when_stopping(*_progress: int) -> int:
    """libcurl's progress callback: non-zero aborts the transfer (CURLE_ABORTED_BY_CALLBACK)."""
    return 1 if stopping.requested() else 0


def network_options(handle: pycurl.Curl, store: TrustStore, proxy: str | None) -> None:
    """The handle's trust store (the server's and an HTTPS proxy's), proxy, compression and
    User-Agent."""
    apply_to_curl(handle, store)
    handle.setopt(pycurl.PROXY, proxy or "")  # "" = no proxy, whatever the env says
    handle.setopt(pycurl.ACCEPT_ENCODING, "")  # every encoding this libcurl decodes (gzip, br)
    handle.setopt(pycurl.USERAGENT, USER_AGENT)


class Slots:
    """At most `n` holders at once, served first come, first served. (threading.Semaphore lets a
    thread that just released take its slot straight back, so one table's threads would keep
    every slot and the others would wait for them to finish.)"""

    def __init__(self, n: int) -> None:
        self._free = n
        self._lock = threading.Lock()
        self._waiting: deque[threading.Event] = deque()

    def __enter__(self) -> Slots:
        with self._lock:
            if self._free and not self._waiting:
                self._free -= 1
                return self
            turn = threading.Event()
            self._waiting.append(turn)
        turn.wait()  # the slot is handed over by __exit__
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().set()
            else:
                self._free += 1


def _headers(header_lines: list[bytes]) -> CaseInsensitiveDict:
    headers: CaseInsensitiveDict = CaseInsensitiveDict()
    for line in header_lines:
        name, sep, value = line.decode("latin-1").partition(":")
        if sep:
            headers[name.strip()] = value.strip()
    return headers


def _retry_after(header_lines: list[bytes]) -> float | None:
    return retry_after_seconds(_headers(header_lines).get("Retry-After"))


def _response(url: str, status: int, body: bytes, header_lines: list[bytes]) -> Response:
    """A requests Response for an answer that ends in an error, so the error carries it."""
    request = PreparedRequest()
    request.method, request.url = "GET", url
    response = Response()
    response.status_code, response._content, response.url = status, body, url
    response.headers, response.request = _headers(header_lines), request
    return response


def _no_answer(exc: pycurl.error, url: str, proxy: str | None = None) -> RequestException:
    """libcurl's failure as the requests exception dlt's client would have raised."""
    code = exc.args[0] if exc.args else None
    via = f" through the proxy {without_password(proxy)}" if proxy else ""
    text = f"GET {path_of(url)}{via}: {exc.args[-1] if exc.args else exc}"
    if code in _TIMED_OUT:
        return ConnectTimeout(text) if "connect" in text.lower() else ReadTimeout(text)
    return ConnectionError(text)
