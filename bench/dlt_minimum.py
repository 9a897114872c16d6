"""The least any dlt load costs on this machine: a new process that imports dlt and merges a
3-row Arrow table into a new DuckDB file, timed from start to exit, less the start of a process
that imports only what the floor imports (requests, orjson), since the floor pays that too. No
loader built on dlt spends less on a run besides its pages, whatever its portfolio, so it bounds
how flat the cost per snapshot can be between a small and a large portfolio (bench.run prints
that bound).

    .venv/bin/python -m bench.dlt_minimum --repeat 3
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

RUN = """
import sys
import dlt
import pyarrow as pa

work = sys.argv[1]
pipeline = dlt.pipeline(
    "minimum", destination=dlt.destinations.duckdb(work + "/warehouse.duckdb"),
    pipelines_dir=work + "/dlt", dataset_name="raw",
)
pipeline.run(
    pa.table({"id": [1, 2, 3], "value": [1.0, 2.0, 3.0]}), table_name="t", primary_key="id",
    write_disposition={"disposition": "merge", "strategy": "delete-insert"},
)
"""


FLOOR_START = "import orjson, requests"


def seconds(repeat: int = 3) -> float:
    """The median wall time of `repeat` such loads, each into a new directory, less the median of
    as many processes that start as the floor's does."""
    loads, starts = [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="dlt-minimum-") as work:
            loads.append(_timed("the minimal dlt load", [sys.executable, "-c", RUN, work]))
        starts.append(_timed("the floor's start", [sys.executable, "-c", FLOOR_START]))
    return statistics.median(loads) - statistics.median(starts)


def _timed(what: str, command: list[str]) -> float:
    started = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"bench: {what} failed:\n{run.stderr}")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"dlt_minimum_s={seconds(args.repeat):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
