"""Least privilege on disk: after a real `symetrisk run` (the built-in sandbox over HTTP into a
DuckDB file), started with the permissive umask 022, a second local account can read neither
the warehouse nor anything in the pipelines dir (dlt's state, trace, load packages, the run
journal); files are 0600 and directories 0700; a warehouse an older version left 0644 is made
private by the next run; `status` warns in one line about a secrets file others can read."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

OTHER = "symetrisk-other"


def other_account() -> str:
    """A second local account (made when missing; the tests run as root here)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to act as a second local account (useradd, setuid)")
    try:
        pwd.getpwnam(OTHER)
    except KeyError:
        made = subprocess.run(["useradd", "--no-create-home", OTHER], capture_output=True)
        if made.returncode != 0:
            pytest.skip(f"cannot create a second account: {made.stderr.decode().strip()}")
    return OTHER


def as_other(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(command), user=OTHER, capture_output=True, text=True, timeout=30)


@pytest.fixture
def open_dir():
    """A working dir every account may enter (0755), as a shared server's project dir is."""
    path = Path(tempfile.mkdtemp(prefix="symetrisk-privacy-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def symetrisk(work: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SOURCES__", "DESTINATION__", "SYMETRISK_"))
    }
    env["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    env["SYMETRISK_DBT_DIR"] = str(work / "dbt")
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=lambda: os.umask(0o022),  # the shell's usual umask: files 0644, dirs 0755
    )


def modes(root: Path) -> dict[str, int]:
    found = {str(root): stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        if not path.is_symlink():
            found[str(path)] = stat.S_IMODE(path.stat().st_mode)
    return found


def test_a_second_account_cannot_read_the_warehouse_or_the_pipelines_dir(open_dir):
    other_account()
    run = symetrisk(open_dir, "run", "--quiet", "--no-models", "--sandbox-borrowers", "5",
                    "--sandbox-months", "6")  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    warehouse = open_dir / "data" / "symetrisk.duckdb"
    pipelines = open_dir / "data" / "dlt"
    journal = pipelines / "runs.jsonl"
    assert warehouse.exists() and journal.exists()
    assert any(pipelines.rglob("state.json"))

    # the control: a file the same umask leaves alone is readable by the other account
    control = open_dir / "control.txt"
    control.write_text("readable")
    control.chmod(0o644)
    assert as_other("cat", str(control)).stdout == "readable"

    for path, mode in modes(open_dir / "data").items():
        if Path(path).is_dir():
            assert mode & 0o077 == 0, (path, oct(mode))
        else:
            assert mode & 0o077 == 0, (path, oct(mode))
    for path in (warehouse, journal):
        refused = as_other("cat", str(path))
        assert refused.returncode != 0 and "Permission denied" in refused.stderr
    listed = as_other("ls", str(pipelines))
    assert listed.returncode != 0 and "Permission denied" in listed.stderr

    # what an older version left world-readable: status says so, the next run fixes it
    warehouse.chmod(0o644)
    journal.chmod(0o644)
    status = symetrisk(open_dir, "status")
    warned = [line for line in status.stdout.splitlines() if line.startswith("warning: ")]
    assert warned == [
        "warning: the warehouse data/symetrisk.duckdb is readable by others: "
        "chmod 600 data/symetrisk.duckdb"
    ], status.stdout
    again = symetrisk(open_dir, "run", "--quiet", "--no-models", "--sandbox-borrowers", "5",
                      "--sandbox-months", "6")  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert stat.S_IMODE(warehouse.stat().st_mode) == 0o600
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
    assert as_other("cat", str(warehouse)).returncode != 0


def test_status_warns_about_a_secrets_file_others_can_read(open_dir):
    secrets = open_dir / ".dlt" / "secrets.toml"
    secrets.parent.mkdir()
    secrets.write_text('[sources.symetrisk]\nclient_secret = "not-a-real-secret"\n')
    secrets.chmod(0o644)
    exposed = symetrisk(open_dir, "status")
    warned = [line for line in exposed.stdout.splitlines() if line.startswith("warning: ")]
    assert warned == [
        f"warning: the secrets file {secrets} is readable by others: chmod 600 {secrets}"
    ], exposed.stdout + exposed.stderr
    assert "not-a-real-secret" not in exposed.stdout + exposed.stderr
    secrets.chmod(0o600)
    private = symetrisk(open_dir, "status")
    assert not [line for line in private.stdout.splitlines() if "readable by" in line]
