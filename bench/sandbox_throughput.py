"""How many accounting snapshots per second the sandbox serves to a concurrent loopback
client, so we know the sandbox is not what limits a pipeline benchmark (target: 20,000/s).

Starts `symetrisk sandbox` as a subprocess (its own process, so it gets the second core),
then N threads with one requests.Session each fetch every page of every approved
borrower's accounting data at limit=100 and parse it.

    .venv/bin/python -m bench.sandbox_throughput --borrowers 2000 --months 100 --threads 8
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import orjson
import psutil
import requests

from bench.sandbox_process import start_sandbox


def token(base: str) -> str:
    basic = base64.b64encode(b"demo-bank:demo-bank-secret").decode()
    answer = requests.post(
        base + "/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
        timeout=10,
    )
    answer.raise_for_status()
    return answer.json()["access_token"]


def approved_borrowers(session: requests.Session, api: str) -> list[str]:
    orgs, skip = [], 0
    while True:
        page = session.get(f"{api}/relationships", params={"limit": 100, "skip": skip}).json()
        orgs += [
            r["organization_number"]
            for r in page["items"]
            if r["relationship_state"] == "access_approved"
        ]
        skip += page["metadata"]["returnedItems"]
        if skip >= page["metadata"]["totalItems"] or not page["items"]:
            return orgs


def run(args: argparse.Namespace) -> dict:
    process, base = start_sandbox(
        "--borrowers", str(args.borrowers), "--months", str(args.months), "--seed", str(args.seed)
    )
    api = base + "/api/v1"
    local = threading.local()
    try:
        headers = {"Authorization": f"Bearer {token(base)}"}
        with requests.Session() as s:
            s.headers.update(headers)
            orgs = approved_borrowers(s, api)

        def session() -> requests.Session:
            if not hasattr(local, "session"):
                local.session = requests.Session()
                local.session.headers.update(headers)
            return local.session

        def fetch_all(org: str) -> tuple[int, int, int]:
            snapshots = pages = size = skip = 0
            while True:
                answer = session().get(
                    f"{api}/accounting-data/{org}", params={"limit": 100, "skip": skip}
                )
                answer.raise_for_status()
                page = orjson.loads(answer.content)
                pages += 1
                size += len(answer.content)
                got = len(page["items"])
                snapshots += got
                skip += got
                if got == 0 or skip >= page["metadata"]["totalItems"]:
                    return snapshots, pages, size

        server = psutil.Process(process.pid)
        cpu_before = sum(server.cpu_times()[:2])
        started = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            results = list(pool.map(fetch_all, orgs))
        elapsed = time.perf_counter() - started
        server_cpu = sum(server.cpu_times()[:2]) - cpu_before
        counts = requests.get(base + "/sandbox/requests", timeout=10).json()
    finally:
        process.terminate()
        process.wait(timeout=10)
    snapshots = sum(r[0] for r in results)
    pages = sum(r[1] for r in results)
    size = sum(r[2] for r in results)
    return {
        "borrowers": len(orgs),
        "snapshots": snapshots,
        "pages": pages,
        "seconds": round(elapsed, 2),
        "snapshots_per_s": round(snapshots / elapsed),
        "pages_per_s": round(pages / elapsed, 1),
        "mb_per_s": round(size / elapsed / 1e6, 1),
        "server_counted_requests": counts["total"],
        # what one core of sandbox could serve, whatever else the machine is doing
        "server_cpu_s": round(server_cpu, 2),
        "snapshots_per_server_cpu_s": round(snapshots / max(server_cpu, 1e-9)),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--borrowers", type=int, default=2000)
    parser.add_argument("--months", type=int, default=100)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    result = run(args)
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    print(
        f"{result['snapshots_per_s']:,} snapshots/s ({result['snapshots']:,} snapshots, "
        f"{result['pages']:,} pages, {args.threads} threads, {result['seconds']} s); "
        f"{result['snapshots_per_server_cpu_s']:,} per second of sandbox CPU"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
