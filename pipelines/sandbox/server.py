"""Run the sandbox: its options, and a server that starts in a background thread on a free
port (for tests and in-process use) or in the foreground (for `symetrisk sandbox`)."""

from __future__ import annotations

import base64
import socket
import threading
import time
from dataclasses import dataclass, fields
from datetime import date

import orjson
import uvicorn

from pipelines.sandbox.app import API_PREFIX, PATHS, TOKEN_PATH, create_app
from pipelines.sandbox.faults import Faults, RequestLog
from pipelines.sandbox.portfolio import MAX_MONTHS, default_as_of
from pipelines.sandbox.tenants import CLIENTS, Sandbox


@dataclass(frozen=True)
class SandboxOptions:
    borrowers: int = 200
    months: int = 36
    seed: int = 42
    as_of: date | None = None  # None: the end of the last complete month
    token_ttl: int = 3600
    latency_ms: int = 0
    throttle_rps: float = 0.0
    error_rate: float = 0.0
    broken_json_rate: float = 0.0
    drop_rate: float = 0.0
    stall_rate: float = 0.0
    stall_ms: int = 0
    schema_drift: bool = False
    failing_borrowers: tuple[str, ...] = ()
    # serve only what the public docs define (no role, no updated_at or organization_number on
    # snapshots, no notifications or borrower detail): see create_app
    docs_only: bool = False
    # PATHS keys (app.py) answered 404, as if the API had no such path: ("self",)
    without: tuple[str, ...] = ()
    # gzip the answers of clients that ask for it (Accept-Encoding), as a real API gateway does
    compress: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.months <= MAX_MONTHS:
            raise ValueError(f"months must be between 1 and {MAX_MONTHS}, got {self.months}")
        if self.borrowers < 1:
            raise ValueError(f"borrowers must be at least 1, got {self.borrowers}")
        if self.token_ttl < 1:
            raise ValueError(f"token_ttl must be at least 1 second, got {self.token_ttl}")
        Faults().update(self.fault_switches())  # raises on a bad rate
        unknown = set(self.without) - PATHS.keys()
        if unknown:
            raise ValueError(
                f"without: unknown path name(s) {sorted(unknown)}; known: {sorted(PATHS)}"
            )

    def fault_switches(self) -> dict:
        """These options' values of the fault switches (the fields of `Faults`)."""
        return {f.name: getattr(self, f.name) for f in fields(Faults)}


def build_app(options: SandboxOptions):
    sandbox = Sandbox(
        borrowers=options.borrowers,
        months=options.months,
        seed=options.seed,
        as_of=options.as_of or default_as_of(),
        token_ttl=options.token_ttl,
    )
    faults = Faults()
    faults.update(options.fault_switches())
    return create_app(
        sandbox,
        faults,
        RequestLog(),
        docs_only=options.docs_only,
        without=options.without,
        compress=options.compress,
    )


class SandboxServer:
    """`with SandboxServer(options, port=0) as sb:` serves on a free port until the block ends.
    `start()` returns once the server accepts connections. With `certfile` (PEM certificate
    chain) and `keyfile` it serves HTTPS; `url_host` is the host name its URLs use (default:
    `host`), for a certificate issued to a name."""

    def __init__(
        self,
        options: SandboxOptions | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        certfile: str | None = None,
        keyfile: str | None = None,
        url_host: str | None = None,
    ):
        self.options = options or SandboxOptions()
        self.host = host
        self.url_host = url_host or host
        self.scheme = "https" if certfile else "http"
        self.app = build_app(self.options)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_keep_alive=30,
            **tls_options(certfile, keyfile),
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.url_host}:{self.port}"

    @property
    def api_url(self) -> str:
        return self.base_url + API_PREFIX

    @property
    def token_url(self) -> str:
        return self.base_url + TOKEN_PATH

    @property
    def sandbox(self) -> Sandbox:
        """The live state; touch it only between requests (it belongs to the server's loop)."""
        return self.app.state.sandbox

    def start(self, timeout: float = 20.0) -> SandboxServer:
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            daemon=True,
            name=f"sandbox:{self.port}",
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"sandbox server on {self.base_url} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def token(self, client_id: str = "demo-bank", scope: str | None = None) -> str:
        """A fresh access token for a demo client (stdlib HTTP, no extra dependency)."""
        return fetch_token(self.token_url, client_id, CLIENTS[client_id].secret, scope)

    def headers(self, client_id: str = "demo-bank", scope: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(client_id, scope)}"}


def fetch_token(token_url: str, client_id: str, secret: str, scope: str | None = None) -> str:
    import urllib.parse
    import urllib.request

    form = {"grant_type": "client_credentials"}
    if scope:
        form["scope"] = scope
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    request = urllib.request.Request(
        token_url,
        data=urllib.parse.urlencode(form).encode(),
        headers={
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return orjson.loads(answer.read())["access_token"]


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port (port 0: any free one), so the real port is known before
    serving; raises OSError when the address cannot be taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def tls_options(certfile: str | None, keyfile: str | None) -> dict:
    """uvicorn's TLS settings for a certificate chain and its key (PEM); {} for plain HTTP."""
    if not certfile:
        return {}
    return {"ssl_certfile": certfile, "ssl_keyfile": keyfile or certfile}


def serve_forever(
    options: SandboxOptions,
    sock: socket.socket,
    certfile: str | None = None,
    keyfile: str | None = None,
) -> None:
    """Serve on `sock` (listening_socket) in the foreground until interrupted (Ctrl-C); HTTPS
    with `certfile` and `keyfile`."""
    config = uvicorn.Config(
        build_app(options),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_keep_alive=30,
        **tls_options(certfile, keyfile),
    )
    uvicorn.Server(config).run(sockets=[sock])
