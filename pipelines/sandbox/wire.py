"""What reached the wire: an outermost ASGI layer that counts the response body bytes the
sandbox sent (after compression) for API and token requests, and the User-Agent and
Accept-Encoding each request carried, into the RequestLog (shown at GET /sandbox/requests)."""

from __future__ import annotations

from typing import Any

COUNTED_PREFIXES = ("/api/v1", "/oauth2")


class WireCount:
    """ASGI middleware: the bytes sent and the client's identifying headers, per request."""

    def __init__(self, app: Any, *, log: Any) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(COUNTED_PREFIXES):
            return await self.app(scope, receive, send)
        headers = {name.lower(): value for name, value in scope.get("headers") or []}
        self.log.saw_headers(
            headers.get(b"user-agent", b"").decode("latin-1"),
            headers.get(b"accept-encoding", b"").decode("latin-1"),
        )

        async def counting_send(message):
            if message["type"] == "http.response.body":
                self.log.sent_bytes(len(message.get("body") or b""))
            await send(message)

        return await self.app(scope, receive, counting_send)
