"""The misbehaviour a real API shows now and then — latency, stalls, throttling, server
errors, dropped connections, truncated bodies — switchable at run time and decided by the
seed and a request counter, so a failing client run can be repeated. Also counts requests by
route and status, so tests and benchmarks can see what a client really asked for.

It is a plain ASGI layer around the app: it must act before routing (429, 5xx, drops) and
after the handler (truncating a body)."""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, fields

import orjson
from starlette.routing import compile_path

RATES = ("error_rate", "broken_json_rate", "drop_rate", "stall_rate")


@dataclass
class Faults:
    latency_ms: int = 0
    throttle_rps: float = 0.0
    error_rate: float = 0.0
    broken_json_rate: float = 0.0
    drop_rate: float = 0.0
    stall_rate: float = 0.0
    stall_ms: int = 0
    schema_drift: bool = False
    # organisation numbers whose every call under /api/v1 answers 500 (one broken borrower)
    failing_borrowers: list[str] = field(default_factory=list)

    def update(self, changes: dict) -> None:
        """Apply a partial change; raise ValueError naming the first bad value."""
        known = {f.name for f in fields(self)}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown fault switch {name!r}; known: {sorted(known)}")
            if value is None:
                continue
            if name == "schema_drift":
                if not isinstance(value, bool):
                    raise ValueError(f"schema_drift must be true or false, got {value!r}")
                continue
            if name == "failing_borrowers":
                if not isinstance(value, list | tuple) or not all(
                    isinstance(v, str) and v.isdigit() and len(v) == 9 for v in value
                ):
                    raise ValueError(
                        f"failing_borrowers must be a list of 9-digit organisation numbers, "
                        f"got {value!r}"
                    )
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number, got {value!r}")
            if not math.isfinite(value) or value < 0 or (name in RATES and value > 1):
                limit = "between 0 and 1" if name in RATES else "0 or more"
                raise ValueError(f"{name} must be {limit}, got {value!r}")
        for name, value in changes.items():
            if value is not None:
                setattr(self, name, list(value) if name == "failing_borrowers" else value)

    def as_json(self) -> dict:
        return asdict(self)


class RequestLog:
    """Requests by 'METHOD /route/{template}' and status ('dropped' for a closed connection), the
    most requests seen in flight at once, and when each endpoint was first and last asked
    (seconds since the last reset): what a client's concurrency really was."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.reset()

    def reset(self) -> None:
        self.total = 0
        self.by_endpoint: dict[str, Counter] = {}
        self.peak_in_flight = self.in_flight
        self.since = time.monotonic()
        self.first_last: dict[str, list[float]] = {}
        # response body bytes as sent (compressed when the client asked), and the headers seen
        self.wire_bytes = 0
        self.user_agents: Counter = Counter()
        self.accept_encodings: Counter = Counter()

    def sent_bytes(self, n: int) -> None:
        self.wire_bytes += n

    def saw_headers(self, user_agent: str, accept_encoding: str) -> None:
        self.user_agents[user_agent or "(none)"] += 1
        self.accept_encodings[accept_encoding or "(none)"] += 1

    def started(self, endpoint: str) -> None:
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        now = round(time.monotonic() - self.since, 3)
        self.first_last.setdefault(endpoint, [now, now])[1] = now

    def record(self, endpoint: str, status: str) -> None:
        self.in_flight -= 1
        self.total += 1
        counter = self.by_endpoint.get(endpoint)
        if counter is None:
            counter = self.by_endpoint[endpoint] = Counter()
        counter[status] += 1

    def as_json(self) -> dict:
        return {
            "total": self.total,
            "by_endpoint": {
                k: dict(sorted(v.items())) for k, v in sorted(self.by_endpoint.items())
            },
            "peak_in_flight": self.peak_in_flight,
            "first_last_s": dict(sorted(self.first_last.items())),
            "wire_bytes": self.wire_bytes,
            "user_agents": dict(sorted(self.user_agents.items())),
            "accept_encodings": dict(sorted(self.accept_encodings.items())),
        }


class Throttle:
    """A token bucket of `rate` requests per second and one second of burst."""

    def __init__(self) -> None:
        self.tokens = 0.0
        self.stamp = time.monotonic()
        self.rate = 0.0

    def retry_after(self, rate: float) -> int | None:
        """None when the request may pass, else the whole seconds to wait."""
        now = time.monotonic()
        if rate != self.rate:
            self.rate, self.tokens = rate, max(rate, 1.0)
        self.tokens = min(max(rate, 1.0), self.tokens + (now - self.stamp) * rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        return max(1, math.ceil((1.0 - self.tokens) / rate))


def error_body(code: str, message: str) -> bytes:
    return orjson.dumps({"error": code, "message": message})


class FaultLayer:
    """ASGI middleware: counts /api/v1 and /oauth2 requests and applies faults to /api/v1."""

    def __init__(self, app, *, faults: Faults, log: RequestLog, seed: int, templates: list[str]):
        self.app = app
        self.faults = faults
        self.log = log
        self.seed = seed
        self.templates = [(compile_path(t)[0], t) for t in templates]
        self.counter = 0
        self.throttle = Throttle()

    def endpoint(self, scope) -> str:
        path = scope["path"]
        for regex, template in self.templates:
            if regex.match(path):
                return f"{scope['method']} {template}"
        return f"{scope['method']} (unknown path)"

    def draws(self) -> list[float]:
        """Four uniform numbers for this request, from the seed and the request counter."""
        self.counter += 1
        digest = hashlib.blake2b(f"{self.seed}:{self.counter}".encode(), digest_size=32).digest()
        return [int.from_bytes(digest[i : i + 8], "big") / 2.0**64 for i in range(0, 32, 8)]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        faulty = path.startswith("/api/v1")
        if not faulty and not path.startswith("/oauth2"):
            return await self.app(scope, receive, send)
        endpoint = self.endpoint(scope)
        status_seen: list[int] = []
        self.log.started(endpoint)

        async def counting_send(message):
            if message["type"] == "http.response.start":
                status_seen.append(message["status"])
            await send(message)

        try:
            if faulty:
                await self.faulty(scope, receive, counting_send)
            else:
                await self.app(scope, receive, counting_send)
        finally:
            self.log.record(endpoint, str(status_seen[0]) if status_seen else "dropped")

    async def faulty(self, scope, receive, send):
        f = self.faults
        u_stall, u_drop, u_error, u_broken = self.draws()
        if f.latency_ms:
            await asyncio.sleep(f.latency_ms / 1000)
        if f.stall_rate and u_stall < f.stall_rate:
            await asyncio.sleep(f.stall_ms / 1000)
        if f.throttle_rps:
            wait = self.throttle.retry_after(f.throttle_rps)
            if wait is not None:
                message = f"rate limit of {f.throttle_rps:g} requests/s exceeded; retry in {wait} s"
                return await respond(
                    send,
                    429,
                    error_body("too_many_requests", message),
                    [(b"retry-after", str(wait).encode())],
                )
        if f.failing_borrowers and any(org in scope["path"] for org in f.failing_borrowers):
            body = error_body("internal_error", "sandbox fault: this borrower always fails")
            return await respond(send, 500, body)
        if f.drop_rate and u_drop < f.drop_rate:
            return await drop_connection(receive)
        if f.error_rate and u_error < f.error_rate:
            status = (500, 502, 503)[int(u_error / f.error_rate * 3) % 3]
            code = {500: "internal_error", 502: "bad_gateway", 503: "service_unavailable"}[status]
            body = error_body(code, f"sandbox fault: simulated {status} (error_rate)")
            extra = [(b"retry-after", b"1")] if status == 503 else []
            return await respond(send, status, body, extra)
        if f.broken_json_rate and u_broken < f.broken_json_rate:
            return await self.app(scope, receive, truncating(send))
        return await self.app(scope, receive, send)


async def respond(send, status: int, body: bytes, extra: list | None = None) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def truncating(send):
    """A send that cuts a 200 body short (keeping Content-Length honest), so the client gets
    a complete HTTP answer whose JSON does not parse."""
    held: dict = {}
    chunks: list[bytes] = []

    async def wrapped(message):
        if message["type"] == "http.response.start":
            if message["status"] != 200:
                held["pass"] = True
                await send(message)
                return
            held["start"] = message
            return
        if held.get("pass"):
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body"):
            return
        body = b"".join(chunks)
        cut = body[: max(1, len(body) // 2)]
        start = held["start"]
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(cut)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": cut, "more_body": False})

    return wrapped


async def drop_connection(receive) -> None:
    """Close the TCP connection without answering. uvicorn does not offer this through ASGI,
    so reach its transport through the bound `receive`; elsewhere, fail the request."""
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionAbortedError("sandbox fault: drop (no transport to close)")
    transport.abort()
    # Let the server see the connection as lost, so it does not try to answer 500.
    for _ in range(3):
        await asyncio.sleep(0)
