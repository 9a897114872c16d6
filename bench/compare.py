"""Before and after in one run: our full load at several git revisions of this repository (and
the floor), taken in turns against one sandbox process, each into a new DuckDB file, so a busy
machine slows them all alike. Prints wall and client CPU seconds per run and their means.

    .venv/bin/python -m bench.compare e0ef9ef HEAD --borrowers 1000 --repeat 3

Each revision is checked out into a temporary git worktree and run with this environment's
packages (the revision's code comes first on PYTHONPATH)."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.run import AS_OF, BIN, ROOT, children_cpu, environment, load_command
from bench.sandbox_process import start_sandbox


def revision_command(args: argparse.Namespace) -> list[str]:
    """`symetrisk run ...` as `python -m pipelines.cli`, so the revision's own entry point runs
    (the installed `symetrisk` script imports the entry point of the installed revision)."""
    return [str(BIN / "python"), "-m", "pipelines.cli", *load_command(args)[1:]]


def checkout(revision: str, into: Path) -> Path:
    path = into / revision.replace("/", "_")
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(path), revision],
        check=True,
    )
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("revisions", nargs="+", help="git revisions to compare, e.g. main HEAD")
    parser.add_argument("--borrowers", type=int, default=1000)
    parser.add_argument("--months", type=int, default=100)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="symetrisk-compare-"))
    trees = {revision: checkout(revision, scratch) for revision in args.revisions}
    process, base = start_sandbox(
        "--borrowers", str(args.borrowers), "--months", str(args.months),
        "--latency-ms", str(args.latency_ms), "--seed", "42", "--as-of", AS_OF,
    )  # fmt: skip
    endpoints = ["--api-url", f"{base}/api/v1", "--token-url", f"{base}/oauth2/token"]
    floor = [str(BIN / "python"), "-m", "bench.floor", *endpoints]
    runs: dict[str, list[tuple[float, float]]] = {"floor": []}
    runs.update({revision: [] for revision in trees})
    print(f"# {args.borrowers:,} borrowers x {args.months} months, {args.repeat} turns")
    try:
        for turn in range(args.repeat):
            for name in runs:
                work = Path(tempfile.mkdtemp(prefix="run-", dir=scratch))
                env = environment(base, work)
                if name == "floor":
                    command = [*floor, "--concurrency", str(args.concurrency)]
                    env["PYTHONPATH"], cwd = str(ROOT), ROOT
                else:
                    command, env["PYTHONPATH"], cwd = revision_command(args), str(trees[name]), work
                before = children_cpu()
                started = time.perf_counter()
                subprocess.run(command, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
                wall, cpu = time.perf_counter() - started, children_cpu() - before
                runs[name].append((wall, cpu))
                load = os.getloadavg()[0]
                print(f"  turn {turn + 1} {name:>12}: {wall:6.2f} s wall, {cpu:6.2f} s CPU "
                      f"(load average {load:.1f})", flush=True)  # fmt: skip
                shutil.rmtree(work, ignore_errors=True)
    finally:
        process.terminate()
        process.wait(timeout=30)
        for tree in trees.values():
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)])
        shutil.rmtree(scratch, ignore_errors=True)
    print()
    print("| run | mean wall s | mean client CPU s | wall / floor |")
    print("|---|---:|---:|---:|")
    floor_wall = sum(w for w, _ in runs["floor"]) / len(runs["floor"])
    for name, measured in runs.items():
        wall = sum(w for w, _ in measured) / len(measured)
        cpu = sum(c for _, c in measured) / len(measured)
        print(f"| {name} | {wall:.2f} | {cpu:.2f} | {wall / floor_wall:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
