"""The exploration notebook, executed headless top to bottom the way an analyst would run it:
against a warehouse freshly built by `symetrisk run` from the sandbox, and against none."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "credit_trends.ipynb"


def execute(warehouse: Path, monkeypatch) -> nbformat.NotebookNode:
    monkeypatch.setenv("SYMETRISK_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": ROOT}}
    ).execute()
    return notebook


def test_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_notebook_reads_only_the_marts():
    text = NOTEBOOK.read_text()
    assert "symetrisk_raw" not in text
    assert "read_only=True" in (ROOT / "pipelines" / "warehouse" / "readers.py").read_text()


@pytest.mark.slow
@pytest.mark.e2e
def test_notebook_runs_top_to_bottom_on_a_fresh_sandbox_warehouse(tmp_path, monkeypatch):
    warehouse = tmp_path / "warehouse.duckdb"
    env = {
        **os.environ,
        "DESTINATION__DUCKDB__CREDENTIALS": str(warehouse),
        "SYMETRISK_PIPELINES_DIR": str(tmp_path / "pipelines"),
    }
    for name in list(env):
        if name.startswith("SOURCES__SYMETRISK__"):
            del env[name]
    run = [sys.executable, "-m", "pipelines.cli", "run", "--quiet"]
    build = subprocess.run(
        [*run, "--sandbox-borrowers", "30", "--sandbox-months", "30"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    assert warehouse.exists()

    notebook = execute(warehouse, monkeypatch)
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == []
    pictures = [
        o for c in notebook.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})
    ]
    assert len(pictures) >= 3, "the portfolio, zone and borrower charts must render to PNG"


def test_a_missing_warehouse_gives_one_clear_message(tmp_path, monkeypatch):
    with pytest.raises(CellExecutionError) as failure:
        execute(tmp_path / "nowhere.duckdb", monkeypatch)
    message = str(failure.value)
    assert "run `make run` first" in message
    assert "Traceback" not in message and 'File "' not in message
