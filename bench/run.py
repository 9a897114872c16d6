"""`make bench`: full and incremental loads at portfolio scale against the sandbox, measured in one
run beside the floor (a bare concurrent HTTP client) and a naive loader, then the model build.

Every step runs as its own process against one sandbox process (so the sandbox has a core of its
own), and is measured the same way: wall time, requests counted by the sandbox itself, snapshots,
and peak resident memory of the step's process tree (sampled every 20 ms). It prints a Markdown
table, writes the figures to bench/results/latest.json, and ends with one line a script can read:
`speedup_vs_naive=<x> floor_ratio=<y> incremental_requests=<n>`."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import duckdb
import psutil
import requests

from bench.sandbox_process import start_sandbox

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "latest.json"
BIN = Path(sys.executable).parent
AS_OF = "2026-10-31"
CLIENT_ID, CLIENT_SECRET = "demo-bank", "demo-bank-secret"  # the sandbox's public demo client


class PeakMemory:
    """Samples the resident memory of a process and its children until it ends."""

    def __init__(self, pid: int) -> None:
        self.peak = 0
        self._process = psutil.Process(pid)
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while True:
            try:
                tree = [self._process, *self._process.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in tree))
            except psutil.Error:
                return
            time.sleep(0.02)

    def stop(self) -> int:
        self._thread.join(timeout=1)
        return self.peak


def measure(name: str, command: list[str], env: dict, cwd: Path, sandbox: str) -> dict:
    requests.post(f"{sandbox}/sandbox/requests/reset", timeout=30).raise_for_status()
    print(f"  {name}: {' '.join(Path(c).name if i == 0 else c for i, c in enumerate(command))}")
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, text=True)
    memory = PeakMemory(process.pid)
    output, _ = process.communicate()
    seconds = time.perf_counter() - started
    peak = memory.stop()
    if process.returncode != 0:
        sys.exit(f"bench: step '{name}' failed with exit code {process.returncode}:\n{output}")
    counts = requests.get(f"{sandbox}/sandbox/requests", timeout=30).json()
    accounting = sum(
        sum(by_status.values())
        for endpoint, by_status in counts["by_endpoint"].items()
        if "/accounting-data/" in endpoint
    )
    return {
        "step": name,
        "seconds": round(seconds, 2),
        "requests": counts["total"],
        "accounting_requests": accounting,
        "peak_rss_mb": round(peak / 2**20),
        "output": output,
    }


def snapshot_count(database: Path) -> int:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute("select count(*) from symetrisk_raw.accounting_snapshots").fetchone()[0]


def table(rows: list[dict]) -> str:
    lines = [
        "| step | wall s | requests | snapshots | snapshots/s | peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        rate = f"{r['snapshots'] / r['seconds']:,.0f}" if r.get("snapshots") else ""
        snapshots = f"{r['snapshots']:,}" if r.get("snapshots") is not None else ""
        lines.append(
            f"| {r['step']} | {r['seconds']:,.1f} | {r['requests']:,} | {snapshots} | {rate} "
            f"| {r['peak_rss_mb']:,} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--borrowers", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=100)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--naive-sample", type=int, default=0, help="borrowers the naive loader loads (0: auto)"
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the JSON goes")
    args = parser.parse_args(argv)
    sample = args.naive_sample or min(args.borrowers, max(50, args.borrowers // 40))

    work = Path(tempfile.mkdtemp(prefix="symetrisk-bench-"))
    warehouse = work / "bench.duckdb"
    sandbox_process, base = start_sandbox(
        "--borrowers", str(args.borrowers), "--months", str(args.months),
        "--latency-ms", str(args.latency_ms), "--seed", "42", "--as-of", AS_OF,
    )  # fmt: skip
    api, token = f"{base}/api/v1", f"{base}/oauth2/token"
    env = {
        **os.environ,
        "SOURCES__SYMETRISK__BASE_URL": api,
        "SOURCES__SYMETRISK__TOKEN_URL": token,
        "SOURCES__SYMETRISK__CLIENT_ID": CLIENT_ID,
        "SOURCES__SYMETRISK__CLIENT_SECRET": CLIENT_SECRET,
        "DESTINATION__DUCKDB__CREDENTIALS": str(warehouse),
        "SYMETRISK_PIPELINES_DIR": str(work / "dlt"),
    }
    endpoints = ["--api-url", api, "--token-url", token]
    python = str(BIN / "python")
    load = [str(BIN / "symetrisk"), "run", "--no-models", "--quiet"]
    load += ["--concurrency", str(args.concurrency)]
    print(
        f"# bench: {args.borrowers:,} borrowers x {args.months} months, sandbox latency "
        f"{args.latency_ms} ms, concurrency {args.concurrency}, work dir {work}"
    )
    try:
        floor = measure(
            "floor (bare concurrent HTTP)",
            [python, "-m", "bench.floor", *endpoints, "--concurrency", str(args.concurrency)],
            env, ROOT, base,
        )  # fmt: skip
        floor["snapshots"] = json.loads(floor.pop("output").strip().splitlines()[-1])["snapshots"]

        full = measure("ours: full load", load, env, work, base)
        full.pop("output")
        full["snapshots"] = snapshot_count(warehouse)

        naive = measure(
            f"naive loader ({sample} borrowers)",
            [python, "-m", "bench.naive", *endpoints, "--database", str(work / "naive.duckdb"),
             "--sample", str(sample)],
            env, ROOT, base,
        )  # fmt: skip
        naive_result = json.loads(naive.pop("output").strip().splitlines()[-1])
        naive["snapshots"] = naive_result["snapshots"]
        scale = full["snapshots"] / max(naive["snapshots"], 1)
        naive_scaled = {
            "step": f"naive loader, scaled x{scale:.1f} to the full portfolio (estimate)",
            "seconds": round(naive["seconds"] * scale, 1),
            "requests": round(naive["requests"] * scale),
            "accounting_requests": round(naive["accounting_requests"] * scale),
            "snapshots": full["snapshots"],
            "peak_rss_mb": naive["peak_rss_mb"],
        }

        advanced = requests.post(f"{base}/sandbox/advance-month", timeout=120).json()
        incremental = measure("ours: incremental (one month later)", load, env, work, base)
        incremental.pop("output")
        incremental["snapshots"] = snapshot_count(warehouse) - full["snapshots"]

        models = measure(
            "model build", [str(BIN / "symetrisk"), "models", "--database", str(warehouse)],
            env, work, base,
        )  # fmt: skip
        models.pop("output")
        models["snapshots"] = snapshot_count(warehouse)
    finally:
        sandbox_process.terminate()
        sandbox_process.wait(timeout=30)

    rows = [floor, full, naive, naive_scaled, incremental, models]
    floor_ratio = full["seconds"] / floor["seconds"]
    speedup = naive_scaled["seconds"] / full["seconds"]
    relationship_pages = -(-args.borrowers // 100)
    results = {
        "borrowers": args.borrowers,
        "months": args.months,
        "latency_ms": args.latency_ms,
        "concurrency": args.concurrency,
        "as_of_after_advance": advanced.get("as_of"),
        "steps": rows,
        "floor_ratio": round(floor_ratio, 2),
        "speedup_vs_naive": round(speedup, 1),
        "incremental_requests": incremental["requests"],
        "incremental_accounting_requests": incremental["accounting_requests"],
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30),
        },
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2) + "\n")

    print()
    print(table(rows))
    print()
    approved = incremental["accounting_requests"]
    print(f"- ours / floor: {floor_ratio:.2f} (goal: at most 1.5)")
    print(
        f"- naive / ours: {speedup:.1f}x (goal: at least 10x); the naive loader ran on {sample} "
        f"borrowers ({naive['seconds']:.1f} s) and is scaled by snapshots, x{scale:.1f}"
    )
    print(
        f"- incremental: {incremental['requests']:,} requests, of which {approved:,} "
        f"accounting-data (one per approved borrower), about {relationship_pages} "
        "relationship pages, the rest notification pages, /self and the token"
    )
    peak = max(r["peak_rss_mb"] for r in (full, incremental, models))
    print(f"- peak memory of our steps: {peak:,} MB (goal: under 1,536 MB)")
    print(f"- figures written to {args.results}")
    print(
        f"speedup_vs_naive={speedup:.1f} floor_ratio={floor_ratio:.2f} "
        f"incremental_requests={incremental['requests']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
