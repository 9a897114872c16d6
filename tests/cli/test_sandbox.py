"""`symetrisk sandbox` as a person types it: it prints its URLs and the demo credentials,
serves, and refuses bad options with a readable message."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest
import requests

from pipelines.cli import main


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sandbox_command_serves_and_prints_credentials():
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "pipelines.cli",
        "sandbox",
        "--port",
        str(port),
        "--borrowers",
        "5",
        "--months",
        "6",
        "--as-of",
        "2026-03-31",
        "--latency-ms",
        "1",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = [process.stdout.readline() for _ in range(12)]  # header, 5 clients, faults
        text = "".join(lines)
        assert f"http://127.0.0.1:{port}/oauth2/token" in text
        assert f"http://127.0.0.1:{port}/api/v1" in text
        deadline = time.monotonic() + 30
        while True:
            try:
                summary = requests.get(f"http://127.0.0.1:{port}/sandbox/portfolio", timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the sandbox did not start"
                time.sleep(0.1)
        assert summary.json()["as_of"] == "2026-03-31" and summary.json()["borrowers"] == 5
        assert requests.get(f"http://127.0.0.1:{port}/sandbox/faults").json()["latency_ms"] == 1
        for client in ("demo-bank", "demo-bank-readonly", "other-bank", "demo-scorer"):
            assert f"{client}-secret" in text
        assert "latency_ms" in lines[-1]
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_sandbox_command_refuses_bad_options(capsys):
    for argv, word in (
        (["sandbox", "--months", "101"], "between 1 and 100"),
        (["sandbox", "--error-rate", "2"], "between 0 and 1"),
        (["sandbox", "--as-of", "yesterday"], "--as-of"),
    ):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        assert word in capsys.readouterr().err


def test_sandbox_help_shows_examples(capsys):
    with pytest.raises(SystemExit):
        main(["sandbox", "--help"])
    out = capsys.readouterr().out
    assert "--throttle-rps" in out and "examples:" in out
