"""Real alert receivers for the tests: an HTTP server that records each webhook POST it accepts,
and an SMTP server (aiosmtpd) that records each message it accepts, with a login. Each can be
switched to fail (HTTP 500, SMTP 451) or stopped and started again on the same port."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Webhook:
    """POST /hooks/... records the JSON body when `mode` is "ok" (answer 200), answers 500 and
    records nothing accepted when "fail"; stop() closes the port."""

    port: int = field(default_factory=free_port)
    mode: str = "ok"
    accepted: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    paths: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> Webhook:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.paths.append(self.path)
                if receiver.mode != "ok":
                    receiver.refused += 1
                    self.send_response(500)
                    self.end_headers()
                    return
                receiver.accepted.append(json.loads(body))
                receiver.headers.append(dict(self.headers))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def url(self, token: str) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{token}?key={token[::-1]}"

    def event_ids(self) -> list[str]:
        return [e["event_id"] for body in self.accepted for e in body["events"]]


@dataclass
class Mailbox:
    """An SMTP server with AUTH LOGIN/PLAIN (user and password given) that records each message
    it accepts; `mode` "fail" answers 451 to the message."""

    user: str
    password: str
    port: int = field(default_factory=free_port)
    mode: str = "ok"
    accepted: list[email.message.EmailMessage] = field(default_factory=list)
    refused: int = 0
    logins: list[tuple[str, str]] = field(default_factory=list)
    _controller: Any = None

    def start(self) -> Mailbox:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        box = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                if box.mode != "ok":
                    box.refused += 1
                    return "451 4.3.0 try again later"
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                box.accepted.append(message)
                return "250 OK"

        def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any):
            ok = isinstance(data, LoginPassword) and (
                data.login.decode(),
                data.password.decode(),
            ) == (box.user, box.password)
            if ok:
                box.logins.append((data.login.decode(), "***"))
            return AuthResult(success=ok)

        self._controller = Controller(
            Handler(),
            hostname="127.0.0.1",
            port=self.port,
            authenticator=authenticator,
            auth_require_tls=False,
            auth_required=True,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller:
            self._controller.stop()
            self._controller = None

    def texts(self) -> list[str]:
        return [m.get_body(("plain",)).get_content() for m in self.accepted]

    def event_lines(self) -> list[str]:
        """The '• ...' lines of every accepted message's plain text: one per listed event."""
        return [line for text in self.texts() for line in text.splitlines() if line[:1] == "•"]


def mail_event_ids(box: Mailbox) -> list[str]:
    """The event ids each accepted message says it delivers (X-Symetrisk-Events)."""
    ids: list[str] = []
    for message in box.accepted:
        value = " ".join(str(message["X-Symetrisk-Events"]).split())
        ids += [i.strip() for i in value.split(",") if i.strip() and i.strip() != "none"]
    return ids
