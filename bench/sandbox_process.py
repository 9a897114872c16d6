"""The sandbox as a separate process for the benchmarks, so it has a core of its own and its
CPU can be measured apart from the client's."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time

import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sandbox(*options: str) -> tuple[subprocess.Popen, str]:
    """Start `symetrisk sandbox OPTIONS` on a free port; return the process and its base URL
    once it answers. Exits with the sandbox's own words if it fails to start within 60 s."""
    port = free_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115 - the sandbox writes to it for its whole life
    command = [sys.executable, "-m", "pipelines.cli", "sandbox", "--port", str(port), *options]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            sys.exit(f"the sandbox exited: {log.read().decode(errors='replace')}")
        try:
            requests.get(f"{base}/sandbox/portfolio", timeout=2).raise_for_status()
            return process, base
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    sys.exit("the sandbox did not start within 60 s")
