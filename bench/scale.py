"""`make bench-scale`: a bank's whole life with the loader at a large portfolio (default 100,000
borrowers x 100 months), each step measured as `make bench` measures it, and its cost per
borrower set against the same step at the size of `make bench` (bench/results/latest.json).

Steps, against one sandbox process: the floor's full load (`--no-floor`: extrapolated from the
line through the two sizes of `make bench`, and said so), our full load, one month later the
incremental floor and our incremental load, the first model build, and one more month later
the nightly run (`symetrisk run`: load, models, publish, brief, each timed by the run itself).
For every step: wall time, client and sandbox CPU, requests, peak resident memory of the step's
process tree (sampled every 20 ms, bench.run.PeakMemory); then dlt's state, the working and the
published file's sizes, and the sandbox's own memory.

`--probe` runs nothing but the sandbox and the floor's full load, at a fifth of `--borrowers`
and at `--borrowers`, and estimates the sandbox's memory at `--target` borrowers from the
difference: whether the sandbox can hold that portfolio at all (it generates each company when
first asked and keeps its parameters and revisions; snapshots are rendered per request, the
last 256 companies' kept).
Writes bench/results/scale.json (or --results) and prints Markdown tables."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import psutil
import requests

from bench.run import (
    BIN,
    FLOOR_STATE,
    ROOT,
    environment,
    incremental_floor,
    load_command,
    measure,
    nightly_run,
    nightly_table,
    snapshot_count,
    start,
    state_size,
    table,
)
from pipelines.warehouse.publish import working_path

RESULTS = ROOT / "bench" / "results" / "scale.json"
BASELINE = ROOT / "bench" / "results" / "latest.json"


def rss_mb(process: psutil.Process) -> int:
    return round(process.memory_info().rss / 2**20)


def floor_command(base: str, args: argparse.Namespace, work: Path) -> list[str]:
    return [
        str(BIN / "python"), "-m", "bench.floor", "--api-url", f"{base}/api/v1",
        "--token-url", f"{base}/oauth2/token", "--concurrency", str(args.concurrency),
        "--state-out", str(work / FLOOR_STATE),
    ]  # fmt: skip


def probe(args: argparse.Namespace) -> int:
    """The sandbox's memory at a fifth of `--borrowers` and at `--borrowers`, every company
    served once; the difference per borrower (the bounded render cache cancels out) scaled to
    `--target`."""
    served = {}
    for borrowers in (max(1, args.borrowers // 5), args.borrowers):
        work = Path(tempfile.mkdtemp(prefix="symetrisk-scale-"))
        process, base = start(borrowers, args)
        server = psutil.Process(process.pid)
        try:
            measure(
                f"floor at {borrowers:,} (every company generated and served once)",
                floor_command(base, args, work), environment(base, work), ROOT, base, server,
            )  # fmt: skip
            served[borrowers] = rss_mb(server)
        finally:
            process.terminate()
            process.wait(timeout=30)
    (small, small_mb), (large, large_mb) = sorted(served.items())
    per_borrower = (large_mb - small_mb) / max(1, large - small)
    estimate = large_mb + per_borrower * (args.target - large)
    print(
        f"- sandbox RSS once every company was served: {small_mb:,} MB at {small:,} borrowers, "
        f"{large_mb:,} MB at {large:,} ({per_borrower * 1024:,.1f} KB per borrower more); at "
        f"{args.target:,} borrowers about {estimate:,.0f} MB; this machine has "
        f"{psutil.virtual_memory().available / 2**20:,.0f} MB available"
    )
    print(f"sandbox_mb_estimate={estimate:.0f}")
    return 0


def baseline_per_borrower(path: Path) -> dict | None:
    """Seconds per borrower of each step of `make bench` (its larger size), and the floor's line
    through its two sizes, from its JSON; None without one."""
    if not path.exists():
        return None
    figures = json.loads(path.read_text())
    by_name = {s["step"].split(" (")[0].split(",")[0]: s for s in figures["steps"]}
    borrowers = figures["borrowers"]
    found = {
        "borrowers": borrowers,
        "months": figures["months"],
        "full load": by_name["ours: full load"]["seconds"] / borrowers,
        "incremental load": by_name["ours: incremental"]["seconds"] / borrowers,
        "model build": by_name["model build"]["seconds"] / borrowers,
        "marginal": figures.get("marginal"),
        "full_snapshots": by_name["ours: full load"]["snapshots"],
    }
    nightly = figures.get("nightly")
    if nightly:
        found["nightly run"] = nightly["seconds"] / borrowers
        for phase in ("load", "models", "publish", "brief"):
            if phase in nightly["phases"]:
                found[f"nightly: {phase}"] = nightly["phases"][phase] / borrowers
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--borrowers", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=100)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--no-floor", action="store_true", help="extrapolate the floor instead")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--baseline", type=Path, default=BASELINE, help="make bench's JSON")
    parser.add_argument("--probe", action="store_true", help="only the sandbox's memory")
    parser.add_argument("--target", type=int, default=100_000, help="--probe: estimate for this")
    args = parser.parse_args(argv)
    if args.probe:
        return probe(args)

    work = Path(tempfile.mkdtemp(prefix="symetrisk-scale-"))
    warehouse = work / "bench.duckdb"
    process, base = start(args.borrowers, args)
    server = psutil.Process(process.pid)
    env = environment(base, work)
    print(
        f"# bench-scale: {args.borrowers:,} borrowers x {args.months} months, latency "
        f"{args.latency_ms} ms, concurrency {args.concurrency}, work dir {work}"
    )
    rows: list[dict] = []
    memory = {"sandbox_started_mb": rss_mb(server)}
    floor_full = floor_incremental = None
    try:
        if not args.no_floor:
            floor_full = measure(
                "floor (bare concurrent HTTP)", floor_command(base, args, work), env, ROOT, base,
                server,
            )  # fmt: skip
            floor_full["snapshots"] = json.loads(floor_full.pop("output").splitlines()[-1])[
                "snapshots"
            ]
            rows.append(floor_full)
        full = measure("ours: full load", load_command(args), env, work, base, server)
        full.pop("output")
        full["snapshots"] = snapshot_count(warehouse)
        rows.append(full)
        full_state = state_size(warehouse, work / "dlt")

        requests.post(f"{base}/sandbox/advance-month", timeout=600).raise_for_status()
        if floor_full:
            floor_incremental = incremental_floor(base, server, work, args)
            rows.append(floor_incremental)
        incremental = measure(
            "ours: incremental (one month later)", load_command(args), env, work, base, server
        )
        incremental.pop("output")
        incremental["snapshots"] = snapshot_count(warehouse) - full["snapshots"]
        rows.append(incremental)

        models = measure(
            "model build (the first on this warehouse)",
            [str(BIN / "symetrisk"), "models", "--database", str(warehouse)],
            env, work, base, server,
        )  # fmt: skip
        models.pop("output")
        models["snapshots"] = snapshot_count(warehouse)
        rows.append(models)

        nightly = nightly_run(
            "ours: the nightly run (`symetrisk run`, one more month later)",
            args.concurrency, env, work, base, server, warehouse, models["snapshots"], 600,
        )  # fmt: skip
        rows.append(nightly)
        memory["sandbox_end_mb"] = rss_mb(server)
    finally:
        process.terminate()
        process.wait(timeout=60)

    state = state_size(warehouse, work / "dlt")
    working = working_path(warehouse)
    sizes = {
        "published_mb": round(warehouse.stat().st_size / 1e6, 1),
        "working_mb": round(working.stat().st_size / 1e6, 1) if working.exists() else 0,
        "dlt_state_bytes": {"after_full": full_state, "after_nightly": state},
    }
    baseline = baseline_per_borrower(args.baseline)
    if floor_full is None and baseline and baseline.get("marginal"):
        line = baseline["marginal"]
        estimate = (
            line["floor_fixed_s"] + line["floor_marginal_s_per_100k"] * full["snapshots"] / 100_000
        )
        floor_note = (
            f"not measured: extrapolated from the line through make bench's two sizes "
            f"({line['floor_fixed_s']:.2f} s + {line['floor_marginal_s_per_100k']:.2f} s per "
            f"100,000 snapshots) = {estimate:,.1f} s"
        )
        floor_seconds = estimate
    elif floor_full is None:
        floor_note = (
            "not measured (--no-floor), and no figures of make bench to extrapolate from "
            f"({args.baseline})"
        )
        floor_seconds = None
    else:
        floor_note = "measured"
        floor_seconds = floor_full["seconds"]

    ours = {
        "full load": full["seconds"],
        "incremental load": incremental["seconds"],
        "model build": models["seconds"],
        "nightly run": nightly["seconds"],
    }
    ours.update({f"nightly: {k}": v for k, v in nightly["phases"].items() if k != "total"})
    per_borrower = {k: v / args.borrowers for k, v in ours.items()}
    growth = {}
    if baseline:
        growth = {
            k: round(v / baseline[k] - 1, 3)
            for k, v in per_borrower.items()
            if baseline.get(k) and baseline["months"] == args.months
        }
    publish_share = nightly["phases"].get("publish", 0) / nightly["seconds"]
    peak = max(r["peak_rss_mb"] for r in rows if r is not floor_full)
    results = {
        "borrowers": args.borrowers,
        "months": args.months,
        "steps": rows,
        "memory": {**memory, "peak_rss_mb_of_our_steps": peak},
        "sizes": sizes,
        "floor_full_s": floor_seconds,
        "floor_note": floor_note,
        "full_floor_ratio": round(full["seconds"] / floor_seconds, 2) if floor_seconds else None,
        "incremental_floor_ratio": round(incremental["seconds"] / floor_incremental["seconds"], 2)
        if floor_incremental
        else None,
        "seconds_per_borrower": {k: round(v, 6) for k, v in per_borrower.items()},
        "baseline_borrowers": baseline["borrowers"] if baseline else None,
        "per_borrower_change_vs_baseline": growth,
        "publish_share_of_nightly": round(publish_share, 3),
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2) + "\n")

    print()
    print(table(rows))
    print()
    print(nightly_table(nightly))
    print()
    base_name = f"{baseline['borrowers']:,}" if baseline else "make bench"
    print(f"| step | s per 1,000 borrowers | change per borrower vs {base_name} |")
    print("|---|---:|---:|")
    for name, value in per_borrower.items():
        change = f"{growth[name]:+.0%}" if name in growth else "(no baseline)"
        print(f"| {name} | {value * 1000:,.3f} | {change} |")
    print()
    print(
        f"- peak RSS of our steps: {peak:,} MB (goal: under 4,096 MB); the sandbox: "
        f"{memory['sandbox_started_mb']:,} MB started, {memory.get('sandbox_end_mb', 0):,} MB "
        "at the end"
    )
    print(
        f"- dlt state: {state['stored_bytes'] / 1024:,.0f} KB stored in the warehouse, "
        f"{state['local_bytes'] / 1024:,.0f} KB state.json; published file "
        f"{sizes['published_mb']:,.0f} MB, working file {sizes['working_mb']:,.0f} MB"
    )
    print(f"- the floor's full load: {floor_note}")
    if floor_seconds:
        print(f"- ours / floor, full load: {full['seconds'] / floor_seconds:.2f}")
    if floor_incremental:
        print(f"- ours / floor, incremental: {results['incremental_floor_ratio']:.2f}")
    print(f"- publish: {publish_share:.1%} of the nightly run (goal: at most 10 %)")
    print(f"- figures written to {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
