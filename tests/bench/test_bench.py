"""`make bench` end to end at toy scale: every step runs against a real sandbox process (in the
bench's own process, `--in-process`, so no step pays a Python start-up and dbt's and dlt's
imports again), the figures land in the JSON, and the last line is the one a script reads."""

import json
import re
from pathlib import Path

import pytest

from bench import run as bench_run

ROOT = Path(__file__).resolve().parents[2]
LAST = (
    r"speedup_vs_naive=([\d.]+) floor_ratio=([\d.]+) incremental_requests=(\d+) "
    r"marginal_ratio=(-?[\d.]+|nan) incremental_floor_ratio=([\d.]+)"
)


@pytest.mark.slow
def test_bench_runs_every_step_and_reports_the_figures(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    results = tmp_path / "latest.json"
    code = bench_run.main(
        ["--borrowers", "30", "--months", "14", "--latency-ms", "0", "--concurrency", "4",
         "--results", str(results), "--also-borrowers", "10", "--dlt-minimum-repeat", "1",
         "--in-process", "--models-once"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    last = out.strip().splitlines()[-1]
    match = re.fullmatch(LAST, last)
    assert match, last
    figures = json.loads(results.read_text())
    steps = {s["step"].split(" (")[0].split(",")[0]: s for s in figures["steps"]}
    full, floor = steps["ours: full load"], steps["floor"]
    assert full["snapshots"] == floor["snapshots"] > 0
    # bytes on the wire, both compressed: counted by the sandbox for ours and for the floor
    assert figures["wire_bytes"] == {"ours": full["wire_bytes"], "floor": floor["wire_bytes"]}
    assert full["wire_bytes"] > 0 and floor["wire_bytes"] > 0
    assert "bytes on the wire, full load: ours" in out
    assert full["requests"] == floor["requests"], "the floor must fetch the same pages"
    assert full["by_endpoint"] == floor["by_endpoint"]
    incremental = steps["ours: incremental"]
    assert int(match.group(3)) == incremental["requests"] == figures["incremental_requests"]
    approved = figures["steps"][1]["accounting_requests"]
    assert incremental["accounting_requests"] <= approved
    assert "| step | wall s |" in out

    # the incremental floor makes the very requests of our incremental run, endpoint by endpoint
    floor_incremental = steps["incremental floor"]
    assert floor_incremental["by_endpoint"] == incremental["by_endpoint"]
    assert figures["incremental_requests_match"] is True
    assert figures["incremental_floor_requests"] == incremental["requests"]
    assert "(the same requests by endpoint)" in out
    ratio = incremental["seconds"] / floor_incremental["seconds"]
    assert float(match.group(5)) == figures["incremental_floor_ratio"] == round(ratio, 2)

    publish = steps["publish"]  # the incremental run's publish, with the file size it copied
    assert float(re.search(r"\(([\d,.]+) MB copied", publish["step"])[1].replace(",", "")) > 0
    first = steps["model build"]  # and not again: the same command (--models-once)
    assert "model build again" not in steps
    assert first["snapshots"] == full["snapshots"] + incremental["snapshots"]
    assert "the first time on this warehouse" in out

    # the nightly run, one more month later: its steps add up to at most its wall time
    nightly = steps["ours: the nightly run"]
    assert nightly["requests"] == incremental["requests"] and nightly["snapshots"] > 0
    phases = figures["nightly"]["phases"]
    assert {"load", "models", "credit", "publish", "brief"} <= phases.keys()
    parts = sum(v for k, v in phases.items() if k != "total")
    assert 0 < parts <= nightly["seconds"]
    assert abs(sum(figures["nightly"]["shares"].values()) - 1) < 0.01
    assert figures["nightly"]["published_mb"] > 0
    assert "| step of the nightly run | wall s | share |" in out

    sizes = figures["by_portfolio_size"]
    assert [s["borrowers"] for s in sizes] == [10, 30]
    assert all(s["snapshots"] > 0 for s in sizes)
    # marginal and fixed cost: the line through the two sizes, computed here again
    small, large = sizes
    for who, key in (("full", "ours_seconds_per_100k"), ("floor", "floor_seconds_per_100k")):
        t0, t1 = (s[key] * s["snapshots"] / 100_000 for s in (small, large))
        marginal = (t1 - t0) / (large["snapshots"] - small["snapshots"])
        assert abs(figures["marginal"][f"{who}_marginal_s_per_100k"] - marginal * 1e5) < 0.1
        fixed = t0 - marginal * small["snapshots"]
        assert abs(figures["marginal"][f"{who}_fixed_s"] - fixed) < 0.05
    found = figures["marginal"]
    assert figures["marginal_ratio"] == round(
        found["full_marginal_s_per_100k"] / found["floor_marginal_s_per_100k"], 2
    )
    assert f"marginal_ratio={figures['marginal_ratio']:.2f}" in last
    assert 0 < figures["dlt_minimum_s"] < 60
    bound = re.search(r"the floor plus that alone: ([\d.]+) -> ([\d.]+) s per 100,000", out)
    assert bound, out
