"""`make bench` end to end at toy scale: every step runs against a real sandbox process, the
figures land in the JSON, and the last line is the one a script reads."""

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_runs_every_step_and_reports_the_figures(tmp_path):
    results = tmp_path / "latest.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench.run", "--borrowers", "30", "--months", "14",
         "--latency-ms", "0", "--concurrency", "4", "--results", str(results),
         "--also-borrowers", "10"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    last = run.stdout.strip().splitlines()[-1]
    match = re.fullmatch(
        r"speedup_vs_naive=([\d.]+) floor_ratio=([\d.]+) incremental_requests=(\d+)", last
    )
    assert match, last
    figures = json.loads(results.read_text())
    steps = {s["step"].split(" (")[0].split(",")[0]: s for s in figures["steps"]}
    full, floor = steps["ours: full load"], steps["floor"]
    assert full["snapshots"] == floor["snapshots"] > 0
    # bytes on the wire, both compressed: counted by the sandbox for ours and for the floor
    assert figures["wire_bytes"] == {"ours": full["wire_bytes"], "floor": floor["wire_bytes"]}
    assert full["wire_bytes"] > 0 and floor["wire_bytes"] > 0
    assert "bytes on the wire, full load: ours" in run.stdout
    assert full["requests"] == floor["requests"], "the floor must fetch the same pages"
    incremental = steps["ours: incremental"]
    assert int(match.group(3)) == incremental["requests"] == figures["incremental_requests"]
    approved = figures["steps"][1]["accounting_requests"]
    assert incremental["accounting_requests"] <= approved
    assert "| step | wall s |" in run.stdout
    publish = steps["publish"]  # the incremental run's publish, with the file size it copied
    assert float(re.search(r"\(([\d,.]+) MB copied", publish["step"])[1].replace(",", "")) > 0
    first, again = steps["model build"], steps["model build again"]
    assert first["snapshots"] == again["snapshots"] == full["snapshots"] + incremental["snapshots"]
    assert "the first time on this warehouse" in run.stdout
    sizes = figures["by_portfolio_size"]
    assert [s["borrowers"] for s in sizes] == [10, 30]
    assert all(s["snapshots"] > 0 for s in sizes)
    assert 0.1 < figures["dlt_minimum_s"] < 60
    bound = re.search(r"the floor plus that alone: ([\d.]+) -> ([\d.]+) s per 100,000", run.stdout)
    assert bound, run.stdout
