"""A hostile API for the tests: a real HTTP server on a free 127.0.0.1 port that relays the real
sandbox and changes its answers as a broken or malicious Symetrisk could, one fault at a time,
and `symetrisk run` against it in a separate process whose peak memory is measured.

Faults (`Relay.fault`, for the borrower `Relay.victim` where it is about one borrower):
- "endless_body": the victim's snapshots are a chunked body that never ends;
- "drip": the victim's snapshots come at 2 bytes a second;
- "new_keys": each of the victim's snapshots has 5,000 keys more in `data`;
- "deep": one of the victim's snapshots nests 1,000 levels deep;
- "snapshot_date_in_data": the victim's snapshots carry a `snapshot_date` of the wrong type
  inside `data`;
- "colliding_keys": the victim's snapshots carry `Cash_Note` and `cash_note` in `data`;
- "total_items": /relationships says it holds 10^12 items and never sends an empty page;
- "bad_orgs": /relationships holds approved borrowers numbered `../../etc` and
  `912345602?x=1#frag`;
- "expires_in_0": the token endpoint says every token expires in 0 seconds;
- "endless_token": the token endpoint's answer never ends.
Every request's path is recorded (`Relay.paths`), and the token requests counted.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from pipelines.sandbox.app import API_PREFIX, TOKEN_PATH
from pipelines.sandbox.server import SandboxOptions, SandboxServer

NEW_KEYS = 5_000
DEPTH = 1_000
BAD_ORGS = ("../../etc", "912345602?x=1#frag")
DEEP_MARK = "__deep__"


class Relay:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.fault: str | None = None
        self.victim: str | None = None
        self.paths: list[str] = []
        self.token_requests = 0
        self.bytes_sent = 0
        self._lock = threading.Lock()
        self.session = requests.Session()
        relay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                relay.handle(self, "GET")

            def do_POST(self) -> None:
                relay.handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Relay:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- relaying -------------------------------------------------------------------------

    def handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        with self._lock:
            self.paths.append(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else None
        path = h.path.split("?", 1)[0]
        victim_snapshots = (
            self.victim is not None and path == f"{API_PREFIX}/accounting-data/{self.victim}"
        )
        if victim_snapshots and self.fault == "endless_body":
            return self.endless(h)
        if path == TOKEN_PATH and self.fault == "endless_token":
            return self.endless(h)
        if victim_snapshots and self.fault == "drip":
            return self.drip(h)
        forwarded = h.path
        if self.fault == "total_items" and path == f"{API_PREFIX}/relationships":
            forwarded = path + "?skip=0&limit=100"  # the first page, whatever was asked
        keep = ("authorization", "content-type")
        headers = {k: v for k, v in h.headers.items() if k.lower() in keep}
        answer = self.session.request(
            method, self.upstream + forwarded, data=body, headers=headers, timeout=60
        )
        content = answer.content
        if answer.status_code == 200:
            content = self.alter(path, h.path, answer.json(), content)
        if path == TOKEN_PATH:
            with self._lock:
                self.token_requests += 1
        h.send_response(answer.status_code)
        h.send_header("Content-Type", answer.headers.get("Content-Type", "application/json"))
        if answer.headers.get("Retry-After"):
            h.send_header("Retry-After", answer.headers["Retry-After"])
        h.send_header("Content-Length", str(len(content)))
        h.end_headers()
        h.wfile.write(content)

    def alter(self, path: str, full_path: str, body: Any, content: bytes) -> bytes:
        fault = self.fault
        if path == TOKEN_PATH and fault == "expires_in_0":
            body["expires_in"] = 0
        elif path == f"{API_PREFIX}/relationships" and fault == "total_items":
            body["metadata"]["totalItems"] = 10**12
        elif path == f"{API_PREFIX}/relationships" and fault == "bad_orgs":
            if "skip=0" in full_path or "skip" not in full_path:
                template = dict(body["items"][0])
                for i, org in enumerate(BAD_ORGS):
                    body["items"].append(
                        {
                            **template,
                            "id": 10_000_000 + i,
                            "organization_number": org,
                            "relationship_state": "access_approved",
                        }
                    )
                body["metadata"]["totalItems"] += len(BAD_ORGS)
                body["metadata"]["returnedItems"] = len(body["items"])
        elif self.victim and path == f"{API_PREFIX}/accounting-data/{self.victim}":
            for n, item in enumerate(body.get("items", [])):
                data = item["data"]
                if fault == "new_keys":
                    data.update({f"extra_key_{k:04d}": k for k in range(NEW_KEYS)})
                elif fault == "deep" and n == 0:
                    data["nested"] = DEEP_MARK  # made in the text below (json recurses)
                elif fault == "snapshot_date_in_data":
                    data["snapshot_date"] = {"not": "a date"}
                elif fault == "colliding_keys":
                    data["Cash_Note"] = 1
                    data["cash_note"] = 2
        else:
            return content
        text = json.dumps(body)
        if fault == "deep":
            text = text.replace(f'"{DEEP_MARK}"', '{"x":' * DEPTH + "1" + "}" * DEPTH)
        return text.encode()

    def endless(self, h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        chunk = b"[" + b'"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",' * 2000
        frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        with contextlib.suppress(OSError):
            while True:
                h.wfile.write(frame)
                with self._lock:
                    self.bytes_sent += len(chunk)
        h.close_connection = True

    def drip(self, h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        with contextlib.suppress(OSError):
            for _ in range(100_000):
                h.wfile.write(b"2\r\n  \r\n")
                h.wfile.flush()
                time.sleep(1)
        h.close_connection = True


@contextlib.contextmanager
def hostile_api(**sandbox: Any) -> Iterator[tuple[SandboxServer, Relay]]:
    options = {"borrowers": 12, "months": 14, "seed": 5, **sandbox}
    sandbox_server = SandboxServer(SandboxOptions(**options), host="127.0.0.1", port=0)
    with sandbox_server as sb, Relay(sb.base_url) as relay:
        yield sb, relay


def run_env(relay: Relay, work: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "SYMETRISK_"))}
    env = {k: v for k, v in env.items() if not k.startswith("DESTINATION__")}
    return {
        **env,
        "SOURCES__SYMETRISK__BASE_URL": relay.base_url + API_PREFIX,
        "SOURCES__SYMETRISK__TOKEN_URL": relay.base_url + TOKEN_PATH,
        "SOURCES__SYMETRISK__CLIENT_ID": "demo-bank",
        "SOURCES__SYMETRISK__CLIENT_SECRET": "demo-bank-secret",
        "SOURCES__SYMETRISK__BACKOFF_FACTOR": "0.05",
        "SOURCES__SYMETRISK__MAX_ATTEMPTS": "3",
        "DESTINATION__DUCKDB__CREDENTIALS": str(work / "warehouse.duckdb"),
        "SYMETRISK_PIPELINES_DIR": str(work / "dlt"),
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        **extra,
    }


class Finished:
    """A finished `symetrisk run`: exit code, output, peak RSS (bytes) of that process."""

    def __init__(self, code: int, out: str, err: str, peak_rss: int) -> None:
        self.returncode, self.stdout, self.stderr, self.peak_rss = code, out, err, peak_rss


def symetrisk(
    relay: Relay,
    work: Path,
    *args: str,
    bound_s: float = 300,
    interrupt_when: Any = None,
    **env: str,
) -> Finished:
    """`symetrisk ARGS` (default: run --quiet --no-models) in a new process against the relay.
    The process is killed past `bound_s` (the test then fails on its exit code);
    `interrupt_when`: a callable; SIGINT is sent once it returns true."""
    work.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pipelines.cli", *(args or ("run", "--quiet", "--no-models"))]
    out_path, err_path = work / "stdout.txt", work / "stderr.txt"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        process = subprocess.Popen(
            command, env=run_env(relay, work, **env), cwd=work, stdout=out, stderr=err
        )
    killer = threading.Timer(bound_s, lambda: process.kill())
    killer.start()
    done = threading.Event()

    def interrupt() -> None:
        while not done.wait(0.1):
            if interrupt_when():
                time.sleep(1)  # the request is under way in the loader, not only sent
                process.send_signal(signal.SIGINT)
                return

    if interrupt_when is not None:
        threading.Thread(target=interrupt, daemon=True).start()
    peak = [0]
    watcher = threading.Thread(target=_watch_peak, args=(process.pid, done, peak), daemon=True)
    watcher.start()
    try:
        _, status, _ = os.wait4(process.pid, 0)
    finally:
        killer.cancel()
        done.set()
    watcher.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    return Finished(process.returncode, out_path.read_text(), err_path.read_text(), peak[0])


def _watch_peak(pid: int, done: threading.Event, peak: list[int]) -> None:
    """The child's own peak RSS: VmHWM of /proc/PID/status, a high-water mark, read every 20 ms
    until it exits. (Its ru_maxrss is no measure: Linux carries the RSS of the process it was
    forked from across exec, and a test worker may have grown to 1.5 GB by then.)"""
    status = Path(f"/proc/{pid}/status")
    while not done.wait(0.02):
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak[0] = max(peak[0], int(line.split()[1]) * 1024)  # kB
        except OSError:  # gone, or a zombie being reaped
            return
